import { type Kysely, sql } from 'kysely'

/**
 * `webhook_deliveries.redelivered_at`: when an admin last asked to send the delivery again (its
 * Redeliver or Send now button, the API's `redeliver`). Redelivering is refused (409) for a
 * delivery tried or asked to be redelivered in the last 30 s (docs/events.md): without this
 * column a delivery redelivered, then sent at once and delivered, could be redelivered again
 * and again by clicks a moment apart, each one a request more to the receiver. Null for one
 * never redelivered.
 *
 * A nullable column without a default changes only the catalogue: no rewrite of the table.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table webhook_deliveries add column redelivered_at timestamptz`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table webhook_deliveries drop column redelivered_at`.execute(db)
}
