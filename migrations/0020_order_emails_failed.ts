import { type Kysely, sql } from 'kysely'

/**
 * `order_emails_order_failed`: an order's e-mails given up (`failed`), by order. Every read of
 * an order asks whether it has one, for the shopper's page not to promise e-mails that cannot
 * come (src/orders/queries.ts, selectOrderLines): without it that question read the whole
 * table on every lookup. Partial, so only the few failed rows have an entry and sending costs nothing.
 *
 * `if not exists`, so ops can build it beforehand with `create index concurrently if not exists
 * <the same>` on a large `order_emails` (here it holds a SHARE lock on the table while it is
 * built, which holds up the fan-out and the mail senders, not orders).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create index if not exists order_emails_order_failed on order_emails (order_id)
      where status = 'failed'
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists order_emails_order_failed`.execute(db)
}
