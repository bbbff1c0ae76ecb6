import { type Kysely, sql } from 'kysely'
import { arrayLiteral as array } from '../db/arrays.ts'
import { isDataError } from '../db/errors.ts'
import { retryTransient } from '../db/retry.ts'
import type { Database } from '../db/schema.ts'
import { orderItemsJson, orderJson, productOutOfStockJson } from '../outbox/payloads.ts'
import { eventWanted, fannedOutUnlessWanted } from '../webhooks/fan-out.ts'
import { customerArrays, customerColumnList } from './customer.ts'
import { newOrderNumber } from './order-number.ts'
import { type PlaceOrderOptions, placeOrder } from './place-order.ts'
import { hashRequest, mergeLines, type PlaceOrderResult, placedOrder } from './placement.ts'
import type { OrderRequest } from './schemas.ts'

interface PlacedLineRow {
  idx: string
  created_at: Date | string
  status: string
  sku: string
  name: string
  quantity: number
  price_cents: number
}

/**
 * Places several orders in one SQL statement: one round trip, one transaction and one WAL flush
 * for the lot (group commit), where one statement per order spends most of the database's time
 * on what every statement costs whatever it does. Each order is still all or nothing: its lines,
 * its stock, its queue rows and its outbox events (`order.placed`; `product.out_of_stock` for a
 * product whose last unit the batch took) are written together or not at all.
 *
 * The statement locks every product of the batch in id order, as placeOrder does, with the
 * weakest lock that lets it change the stock (FOR NO KEY UPDATE: it does not conflict with the
 * KEY SHARE locks that foreign-key checks of other statements take), and accepts an
 * order only if each of its lines fits the stock left after the orders before it in the batch
 * (a running sum per product) and expects the product's price, if it names one. That test is conservative: a rejected order's units still count
 * against the orders after it. So every order the batch does not place (short of stock, unknown
 * product, a price changed, a reused idempotency key) is placed afterwards on its own by placeOrder, whose answer
 * is exact; with stock to spare the batch places them all. A unique violation (a key placed by
 * another transaction while this one ran, an order number drawn twice) fails the statement, and
 * then each order is placed on its own, as after any data error.
 */
export async function placeOrderBatch(
  db: Kysely<Database>,
  requests: readonly OrderRequest[],
  options: PlaceOrderOptions = {},
): Promise<(PlaceOrderResult | Error)[]> {
  const { emails = true } = options
  if (requests.length === 1) return [await placeOrder(db, requests[0] as OrderRequest, options)]

  // A key twice in one batch would meet itself in the unique index: the later ones wait.
  const seen = new Set<string>()
  const batch: number[] = []
  for (const [i, r] of requests.entries()) {
    if (!seen.has(r.idempotencyKey)) batch.push(i)
    seen.add(r.idempotencyKey)
  }

  const orders = batch.map((i) => {
    const request = requests[i] as OrderRequest
    const items = mergeLines(request.items)
    const hash = hashRequest(items, request.customer)
    return { i, request, items, hash, orderNumber: newOrderNumber() }
  })
  const col = <T>(f: (o: (typeof orders)[number]) => T) => orders.map(f)
  const lines = orders.flatMap((o, n) => o.items.map((item) => ({ idx: n + 1, ...item })))

  let placedRows: PlacedLineRow[]
  try {
    const lineItems = orderItemsJson({
      sku: 'l.sku',
      name: 'l.name',
      quantity: 'l.quantity',
      unitPriceCents: 'l.price_cents',
    })
    const statement = sql<PlacedLineRow>`
        with req as materialized (
          select * from unnest(
            ${array(col((o) => o.orderNumber))}::text[],
            ${array(col((o) => o.request.idempotencyKey))}::text[], ${array(col((o) => o.hash))}::text[],
            ${customerArrays(col((o) => o.request.customer))}
          ) with ordinality as r(order_number, idempotency_key, request_hash,
                                 ${customerColumnList()}, idx)
        ), wanted as materialized (
          select * from unnest(${array(lines.map((l) => l.idx))}::int[],
                               ${array(lines.map((l) => l.sku))}::text[],
                               ${array(lines.map((l) => l.quantity))}::int[],
                               ${array(lines.map((l) => l.unitPriceCents))}::int[])
            as w(idx, sku, quantity, expected_cents)
        ), locked as materialized (
          select p.id, p.sku, p.name, p.price_cents, p.stock from products p
          where p.sku in (select sku from wanted) and p.on_sale
          order by p.id
          for no key update
        ), demand as materialized (
          select w.idx, w.sku, w.quantity, w.expected_cents, l.id as product_id, l.name,
                 l.price_cents, l.stock,
                 sum(w.quantity) over (partition by w.sku order by w.idx) as running
          from wanted w left join locked l on l.sku = w.sku
        ), verdict as (
          select idx, bool_and(product_id is not null and running <= stock
                               and (expected_cents is null or expected_cents = price_cents)) as ok,
                 sum(price_cents::bigint * quantity) as total
          from demand group by idx
        ), placed as (
          insert into orders (order_number, idempotency_key, request_hash, ${customerColumnList()},
                              total_cents)
          select r.order_number, r.idempotency_key, r.request_hash, ${customerColumnList('r.')},
                 v.total
          from req r join verdict v using (idx)
          where v.ok
            -- A replayed key: its order is answered afterwards by placeOrder. Not ON CONFLICT DO
            -- NOTHING: its speculative insertion probes every unique index of orders once more
            -- and writes a second WAL record per order (23k instructions an order, docs/
            -- benchmarks.md "Stop 18"); a key committed by another transaction meanwhile fails
            -- the statement instead (23505), and every order of the batch goes on its own.
            and not exists (select from orders o where o.idempotency_key = r.idempotency_key)
          order by r.idx
          returning *
        ), placed_lines as materialized (
          select p.id as order_id, p.created_at, p.status, r.state, d.*
          from placed p join req r using (order_number) join demand d using (idx)
        ), order_lines as (
          insert into order_lines (order_id, product_id, quantity, unit_price_cents)
          select order_id, product_id, quantity, price_cents from placed_lines
        ), taken as (
          -- From the stock as locked, not p.stock: see placeOrder's statement.
          update products p set stock = t.stock - t.quantity
          from (select product_id, sum(quantity) as quantity, min(stock) as stock
                from placed_lines group by product_id) t
          where p.id = t.product_id
          returning p.id, p.sku, p.name, p.stock
        ), sold_out as (
          insert into outbox (event_type, product_id, payload, fanned_out_at)
          select 'product.out_of_stock', t.id, ${productOutOfStockJson('t')},
                 ${fannedOutUnlessWanted('product.out_of_stock', emails)}
          from taken t
          where t.stock = 0
        ), placed_events as (
          -- Each order as GET /api/orders/:orderNumber shows it, from the rows just written, when
          -- a consumer wants it; otherwise no event at all (eventWanted, src/webhooks/fan-out.ts).
          insert into outbox (event_type, order_id, payload)
          select 'order.placed', o.id,
                 ${orderJson('o', sql`(select ${lineItems} from placed_lines l where l.order_id = o.id)`)}
          from placed o
          where ${eventWanted('order.placed', emails)}
        ), sale as (
          -- The batch's sales in one queue row (migration 0013), none when it placed nothing.
          insert into sales_queue_batches (state, product_id, units, revenue_cents, orders)
          select array_agg(state), array_agg(product_id), array_agg(quantity),
                 array_agg(quantity::bigint * price_cents), array_agg(first)
          from (select state::bpchar, product_id, quantity, price_cents,
                       (row_number() over (partition by order_id order by product_id) = 1)::int
                         as first
                from placed_lines) l
          having count(*) > 0
        )
        select idx, created_at, status, sku, name, quantity, price_cents
        from placed_lines order by idx, sku
      `
    placedRows = (await retryTransient(() => statement.execute(db))).rows
  } catch (err) {
    // One order's bad value (a data or constraint error) must not fail its neighbours: on their
    // own, only it fails. Anything else (the database gone, a timeout) fails them all at once,
    // as it would have failed each.
    if (!isDataError(err)) throw err
    return Promise.all(requests.map((r) => placeOrder(db, r, options).catch((e: Error) => e)))
  }

  const results: (PlaceOrderResult | Error | undefined)[] = new Array(requests.length)
  const byIdx = Map.groupBy(placedRows, (row) => Number(row.idx))
  for (const [n, o] of orders.entries()) {
    const rows = byIdx.get(n + 1)
    if (!rows) continue
    const first = rows[0] as PlacedLineRow
    results[o.i] = placedOrder(
      o.orderNumber,
      o.request.customer,
      first.status,
      first.created_at,
      rows,
    )
  }
  // The rest, one at a time and in request order, so the first of two racing orders wins.
  for (const [i, r] of requests.entries()) {
    if (results[i]) continue
    results[i] = await placeOrder(db, r, options).catch((e: Error) => e)
  }
  return results as (PlaceOrderResult | Error)[]
}
