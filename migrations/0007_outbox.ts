import { type Kysely, sql } from 'kysely'

/**
 * The transactional outbox (issue 16): one row per event (`order.placed`, `order.packed`,
 * `order.shipped`, `order.delivered`, `order.cancelled`, `product.out_of_stock`), inserted by
 * the very statement or transaction that makes the change, so there is no event without its
 * change and no change without its event.
 *
 * - `payload` is the event's `data` as it was when it happened (the Standard Webhooks envelope,
 *   `{ type, timestamp, data }`, is put around it when it is sent).
 * - `order_id` orders the events of one order: a consumer delivers an order's events in `id`
 *   order. No foreign keys: the outbox is an append-only log written on the order path, and a
 *   foreign-key check there would lock the order and product rows once more per event.
 * - `fanned_out_at` is null until the dispatcher has turned the event into one delivery per
 *   subscribed endpoint; the partial index keeps finding those rows cheap however long the log.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('order_id', 'bigint')
    .addColumn('product_id', 'integer')
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('fanned_out_at', 'timestamptz')
    .execute()
  await sql`
    create index outbox_not_fanned_out on outbox (id) where fanned_out_at is null
  `.execute(db)
  await sql`
    create index outbox_order on outbox (order_id, id) where order_id is not null
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('outbox').execute()
}
