import { type Kysely, sql } from 'kysely'
import type { Database } from '../../src/db/schema.ts'

type Row = Record<string, string | number | bigint>
const numbers = (rows: Row[], key: (r: Row) => string) =>
  Object.fromEntries(
    rows.map((r) => [
      key(r),
      { units: Number(r.units), orders: Number(r.orders), revenueCents: Number(r.revenue_cents) },
    ]),
  )

/** The truth the aggregates must equal: fresh GROUP BYs over every order line. */
export async function groupByOrderLines(db: Kysely<Database>) {
  const byProduct = await sql<Row>`
    select o.state, l.product_id, sum(l.quantity) as units, count(*) as orders,
           sum(l.quantity::bigint * l.unit_price_cents) as revenue_cents
    from order_lines l join orders o on o.id = l.order_id
    group by o.state, l.product_id
  `.execute(db)
  const byState = await sql<Row>`
    select o.state, sum(l.quantity) as units, count(distinct o.id) as orders,
           sum(l.quantity::bigint * l.unit_price_cents) as revenue_cents
    from order_lines l join orders o on o.id = l.order_id
    group by o.state
  `.execute(db)
  return {
    byProduct: numbers(byProduct.rows, (r) => `${r.state}:${r.product_id}`),
    byState: numbers(byState.rows, (r) => String(r.state)),
  }
}

/** What the folder (or the loader) has put in the aggregates. */
export async function aggregates(db: Kysely<Database>) {
  const byProduct = await db.selectFrom('state_product_sales').selectAll().execute()
  const byState = await db.selectFrom('state_sales').selectAll().execute()
  return {
    byProduct: numbers(byProduct as unknown as Row[], (r) => `${r.state}:${r.product_id}`),
    byState: numbers(byState as unknown as Row[], (r) => String(r.state)),
  }
}

/**
 * Every sale waiting for the fold, one row per order line, for a FROM: the rows of sales_queue
 * and the lines of sales_queue_batches (migration 0013). Each read in id order, through its
 * primary key: the service's sessions forbid sequential scans, and a plan priced with one
 * crosses the JIT threshold (hundreds of ms compiling, past a short statement timeout).
 */
export const queuedSales = sql`(
  (select state, product_id, units, revenue_cents, orders from sales_queue order by id)
  union all
  select l.state, l.product_id, l.units, l.revenue_cents, l.orders
  from (select * from sales_queue_batches order by id) b,
       unnest(b.state, b.product_id, b.units, b.revenue_cents, b.orders)
         as l(state, product_id, units, revenue_cents, orders)
) as queued_sales`

/** How many sales wait for the fold (queuedSales). */
export async function queueLength(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${queuedSales}`.execute(db)
  return Number(rows[0]?.n)
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000, stepMs = 20) {
  const until = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, stepMs))
  }
}
