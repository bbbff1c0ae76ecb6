import { type Kysely, sql } from 'kysely'

/**
 * `sales_queue_batches`: the sales of one order statement in ONE queue row, one array element per
 * order line (the same five values a `sales_queue` row holds), for the sales fold
 * (src/insights/sales-fold.ts), which folds both queues. Issue 19: what PostgreSQL spends per
 * placed order. A `sales_queue` row per line was a heap tuple and a primary-key entry to write,
 * and a second write to delete, for each line of each order; a statement that places 16 orders
 * now writes one row. Measured per placed order with callgrind (docs/benchmarks.md, "Stop 18").
 * `sales_queue` stays for the cancels' negative sales (one statement, one order) and what other
 * writers queue.
 *
 * Creating a table locks nothing else. Down moves what is still queued here back into
 * `sales_queue`, one row per line, so no sale is lost.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table sales_queue_batches (
      id bigint generated always as identity primary key,
      state char(2)[] not null,
      product_id integer[] not null,
      units integer[] not null,
      revenue_cents bigint[] not null,
      orders integer[] not null,
      created_at timestamptz not null default now()
    )
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    insert into sales_queue (state, product_id, units, revenue_cents, orders, created_at)
    select l.state, l.product_id, l.units, l.revenue_cents, l.orders, b.created_at
    from sales_queue_batches b,
         unnest(b.state, b.product_id, b.units, b.revenue_cents, b.orders)
           as l(state, product_id, units, revenue_cents, orders)
    order by b.id
  `.execute(db)
  await sql`drop table sales_queue_batches`.execute(db)
}
