import { type Kysely, sql } from 'kysely'

/**
 * The back office's order list (src/admin): newest first, keyset-paginated on
 * (created_at, id), alone or filtered by one of status, state or e-mail. Each index holds the
 * filter's column first and then the list's order, so any page under any one filter is an
 * index range scan that stops after 51 rows, whatever the number of orders:
 *
 * - orders_created: no filter, and a date range alone;
 * - orders_status_created, orders_state_created, orders_email_created: that filter (with or
 *   without a date range);
 * - an order number is the unique index orders_order_number_key (0001).
 *
 * `if not exists`: on a large table, building an index here blocks new orders for as long as it
 * takes (CREATE INDEX holds a SHARE lock, and migrations run in a transaction, where
 * CONCURRENTLY is not allowed). Ops can build them beforehand with
 * `create index concurrently if not exists <the same>`, which makes this a no-op.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index if not exists orders_created on orders (created_at desc, id desc)`.execute(
    db,
  )
  await sql`create index if not exists orders_status_created
            on orders (status, created_at desc, id desc)`.execute(db)
  await sql`create index if not exists orders_state_created
            on orders (state, created_at desc, id desc)`.execute(db)
  await sql`create index if not exists orders_email_created
            on orders (email, created_at desc, id desc)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const index of [
    'orders_email_created',
    'orders_state_created',
    'orders_status_created',
    'orders_created',
  ]) {
    await sql`drop index if exists ${sql.id(index)}`.execute(db)
  }
}
