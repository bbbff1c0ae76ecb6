import { type Kysely, sql } from 'kysely'

/**
 * The order lifecycle (src/lifecycle): `placed → packed → shipped → delivered`, or
 * `placed|packed → cancelled`.
 *
 * - `orders.version` starts at 1 and grows by one with every status change: the order's ETag,
 *   so a stale edit is refused (If-Match, 412). Adding a column with a constant default is a
 *   catalogue change only (PostgreSQL 11+), whatever the size of the table.
 * - `orders.carrier` and `orders.tracking_number`: recorded when the order is shipped.
 * - `order_events`: one row per status change, written in the transaction that makes it.
 *
 * The checks are added NOT VALID, then validated: validation scans the table under a lock
 * that lets orders be placed meanwhile (SHARE UPDATE EXCLUSIVE), not one that stops them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('orders')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('carrier', 'text')
    .addColumn('tracking_number', 'text')
    .execute()
  await sql`
    alter table orders
      add constraint orders_status_check
        check (status in ('placed', 'packed', 'shipped', 'delivered', 'cancelled')) not valid,
      add constraint orders_shipped_tracked
        check (status not in ('shipped', 'delivered')
               or (carrier is not null and tracking_number is not null)) not valid
  `.execute(db)
  await sql`alter table orders validate constraint orders_status_check`.execute(db)
  await sql`alter table orders validate constraint orders_shipped_tracked`.execute(db)

  await db.schema
    .createTable('order_events')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('order_id', 'bigint', (c) => c.notNull().references('orders.id'))
    .addColumn('from_status', 'text', (c) => c.notNull())
    .addColumn('to_status', 'text', (c) => c.notNull())
    // Null when no staff member made the change (a later automatic one); never deleted with
    // the account: staff are disabled, and the history keeps who did what.
    .addColumn('staff_id', 'integer', (c) => c.references('staff.id'))
    .addColumn('note', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  // An order's history is a range scan of this index, oldest first.
  await db.schema
    .createIndex('order_events_order')
    .on('order_events')
    .columns(['order_id', 'id'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('order_events').execute()
  await sql`
    alter table orders
      drop constraint orders_shipped_tracked,
      drop constraint orders_status_check
  `.execute(db)
  await db.schema
    .alterTable('orders')
    .dropColumn('tracking_number')
    .dropColumn('carrier')
    .dropColumn('version')
    .execute()
}
