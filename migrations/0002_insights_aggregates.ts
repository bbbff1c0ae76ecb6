import { type Kysely, sql } from 'kysely'

/**
 * Orders and revenue next to units in the insights aggregates, so the insights pages read
 * aggregates only, never orders. A queue row now carries the line's revenue and whether it
 * opens an order (1 on an order's first line, 0 on the others), so the per-state order count
 * stays exact when an order's lines are folded in different batches. The defaults keep a
 * queue insert that names neither working (a one-line order without revenue).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('sales_queue')
    .addColumn('revenue_cents', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('orders', 'integer', (c) => c.notNull().defaultTo(1))
    .execute()

  await db.schema
    .alterTable('state_product_sales')
    .addColumn('orders', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('revenue_cents', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute()

  // One row per state: the map's shading, and the totals of a state's page.
  await db.schema
    .createTable('state_sales')
    .addColumn('state', 'char(2)', (c) => c.primaryKey())
    .addColumn('orders', 'bigint', (c) => c.notNull())
    .addColumn('units', 'bigint', (c) => c.notNull())
    .addColumn('revenue_cents', 'bigint', (c) => c.notNull())
    .execute()

  // Every fold rewrites the rows it touches, and never as a HOT update (units is indexed): the
  // dead versions pile up fast in two tiny tables that every insights read scans. Vacuum them
  // after a fixed number of changes instead of a share of their (tiny) size.
  for (const table of ['state_product_sales', 'state_sales']) {
    await sql`alter table ${sql.table(table)} set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000, autovacuum_vacuum_cost_delay = 0)`.execute(
      db,
    )
  }

  // Existing queue rows carry no revenue, so rebuild both aggregates from the order lines and
  // empty the queue, all while holding the queue: an order in flight queues its sale in the
  // same statement that writes its lines, so it either committed before this lock (and is in
  // the GROUP BY) or waits for it (and is queued afterwards). Every sale counted once.
  await sql`lock table sales_queue, state_product_sales in access exclusive mode`.execute(db)
  await sql`delete from sales_queue`.execute(db)
  await sql`delete from state_product_sales`.execute(db)
  await sql`
    insert into state_product_sales (state, product_id, units, orders, revenue_cents)
    select o.state, l.product_id, sum(l.quantity), count(*), sum(l.quantity::bigint * l.unit_price_cents)
    from order_lines l join orders o on o.id = l.order_id
    group by o.state, l.product_id
  `.execute(db)
  await sql`
    insert into state_sales (state, orders, units, revenue_cents)
    select o.state, count(distinct o.id), sum(l.quantity), sum(l.quantity::bigint * l.unit_price_cents)
    from order_lines l join orders o on o.id = l.order_id
    group by o.state
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('state_sales').execute()
  await db.schema
    .alterTable('state_product_sales')
    .dropColumn('orders')
    .dropColumn('revenue_cents')
    .execute()
  await db.schema
    .alterTable('sales_queue')
    .dropColumn('revenue_cents')
    .dropColumn('orders')
    .execute()
}
