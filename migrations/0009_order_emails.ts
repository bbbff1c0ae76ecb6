import { type Kysely, sql } from 'kysely'

/**
 * Order e-mails (issue 17): one row per e-mail to a shopper, made from an outbox event by the
 * same fan-out statement that makes the webhook deliveries (src/webhooks/fan-out.ts), so an
 * event is e-mailed once or, with mail off, never, crash or not.
 *
 * - `kind`: `confirmation` (from `order.placed`) or `shipping` (from `order.shipped`). One row
 *   per event and kind (`order_emails_event_kind`), whatever happens.
 * - `pending` rows are the queue: the mail senders take due ones (`next_attempt_at` reached)
 *   with `FOR UPDATE SKIP LOCKED` and lease them (attempts + 1, `next_attempt_at` = end of the
 *   lease); `sent` and `failed` rows are the record. A failed attempt waits a backoff; after
 *   24 hours the row is `failed`.
 * - `to_address` is the shopper's e-mail as the order holds it when the event happened. No
 *   foreign keys, as for the outbox: the rows are written on the fan-out path.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('order_emails')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('event_id', 'bigint', (c) => c.notNull())
    .addColumn('order_id', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('confirmation', 'shipping')`))
    .addColumn('to_address', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('pending').check(sql`status in ('pending', 'sent', 'failed')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_error', 'text')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('order_emails_event_kind', ['event_id', 'kind'])
    .execute()
  // What the senders poll: due pending rows, oldest first.
  await sql`
    create index order_emails_due on order_emails (next_attempt_at) where status = 'pending'
  `.execute(db)
  // "Is an e-mail of an earlier event of this order still pending?" (an order's e-mails go out
  // in event order).
  await sql`
    create index order_emails_order_pending on order_emails (order_id, event_id)
      where status = 'pending'
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('order_emails').execute()
}
