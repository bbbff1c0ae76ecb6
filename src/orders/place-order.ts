import { type Kysely, sql } from 'kysely'
import { uniqueViolation } from '../db/errors.ts'
import { retryTransient } from '../db/retry.ts'
import type { Database } from '../db/schema.ts'
import { orderItemsJson, orderJson, productOutOfStockJson } from '../outbox/payloads.ts'
import { eventWanted, fannedOutUnlessWanted } from '../webhooks/fan-out.ts'
import { customerColumnList, customerParams } from './customer.ts'
import { newOrderNumber } from './order-number.ts'
import { hashRequest, mergeLines, type PlaceOrderResult, placedOrder } from './placement.ts'
import { findOrderByIdempotencyKey } from './queries.ts'
import type { OrderLineInput, OrderRequest } from './schemas.ts'

interface PlacedRow {
  sku: string
  name: string
  quantity: number
  price_cents: number
  /** The unit price the line expects (OrderLineInput.unitPriceCents), null when it names none. */
  expected_cents: number | null
  stock: number
  /** Whether the order row was written: the one value the outcome is read from. */
  placed: boolean
  created_at: Date | string | null
  status: string | null
}

export interface PlaceOrderOptions {
  /**
   * Mail is on (SMTP_URL set), so `order.placed` always waits for the fan-out, which makes its
   * e-mail; off, an event no endpoint wants is written already fanned out
   * (fannedOutUnlessWanted). Default on: a caller that does not say never loses an e-mail.
   */
  emails?: boolean
}

/**
 * Places an order in one SQL statement, so it is one short transaction and one round trip:
 * lock the products in id order (no deadlocks between multi-line orders), decide whether
 * every line has stock and, where it names one, the unit price it expects (refused as
 * `price-changed` otherwise: an unknown product is answered first, then a price, then stock),
 * and only then take stock, insert the order with its price-captured
 * lines, queue the sale for the insights' sales fold, and write the outbox events
 * (`order.placed`; `product.out_of_stock` for each product whose last unit it took, src/outbox).
 * A reused idempotency key violates a unique index, which aborts the whole statement: nothing
 * is taken twice (and no event is written); a refused order whose key placed one before answers
 * as that key does (replayed or key-reused), whatever the stock or catalogue is now. A deadlock or
 * serialization failure rolls the statement back whole, so it is run again (retryTransient).
 */
export async function placeOrder(
  db: Kysely<Database>,
  request: OrderRequest,
  { emails = true }: PlaceOrderOptions = {},
): Promise<PlaceOrderResult> {
  const items = mergeLines(request.items)
  const requestHash = hashRequest(items, request.customer)
  for (let attempt = 0; ; attempt++) {
    try {
      const orderNumber = newOrderNumber()
      const result = await retryTransient(() =>
        insertOrder(db, request, items, requestHash, orderNumber, emails),
      )
      // A refusal never reached the key's unique index, so a retry of an order placed before
      // its product sold out or went off sale would be refused: the key answers first.
      if (result.kind === 'placed') return result
      return (await answerForKey(db, request.idempotencyKey, requestHash)) ?? result
    } catch (err) {
      const constraint = uniqueViolation(err)
      if (constraint === 'orders_idempotency_key_key') {
        const existing = await answerForKey(db, request.idempotencyKey, requestHash)
        if (!existing) throw err
        return existing
      }
      // 50 random bits make a clash rare; drawing again makes it harmless.
      if (constraint === 'orders_order_number_key' && attempt < 3) continue
      throw err
    }
  }
}

/**
 * What an idempotency key already used answers: the order it placed when the request is the same
 * (same hash), else the order's number to name in the 422; undefined for a key not used yet.
 */
async function answerForKey(
  db: Kysely<Database>,
  key: string,
  requestHash: string,
): Promise<PlaceOrderResult | undefined> {
  const existing = await findOrderByIdempotencyKey(db, key)
  if (!existing) return undefined
  return existing.requestHash === requestHash
    ? { kind: 'replayed', order: existing.order }
    : { kind: 'key-reused', orderNumber: existing.order.orderNumber }
}

async function insertOrder(
  db: Kysely<Database>,
  { customer, idempotencyKey }: OrderRequest,
  items: readonly OrderLineInput[],
  requestHash: string,
  orderNumber: string,
  emails: boolean,
): Promise<PlaceOrderResult> {
  const skus = items.map((i) => i.sku)
  const quantities = items.map((i) => i.quantity)
  const expected = items.map((i) => i.unitPriceCents ?? null)
  const lineItems = orderItemsJson({
    sku: 'l.sku',
    name: 'l.name',
    quantity: 'l.quantity',
    unitPriceCents: 'l.price_cents',
  })
  const { rows } = await sql<PlacedRow>`
    with req as (
      select * from unnest(${skus}::text[], ${quantities}::int[], ${expected}::int[])
        as r(sku, quantity, expected_cents)
    ), locked as (
      select p.id, p.sku, p.name, p.price_cents, p.stock, req.quantity, req.expected_cents
      -- An off-sale product is not found, so the order is refused as for an unknown one.
      from products p join req on req.sku = p.sku
      where p.on_sale
      order by p.id
      for no key update of p
    ), verdict as (
      select count(*) = ${items.length}
               and coalesce(bool_and(stock >= quantity
                                     and (expected_cents is null or expected_cents = price_cents)),
                            false) as ok,
             coalesce(sum(price_cents::bigint * quantity), 0) as total
      from locked
    ), taken as (
      -- From the stock as locked, not p.stock: PostgreSQL checks stock >= 0 on the row computed
      -- from the statement's snapshot before it follows a concurrent update (a cancel that put
      -- stock back), so p.stock - quantity failed the check on an order the stock covered.
      update products p set stock = l.stock - l.quantity
      from locked l, verdict v
      where v.ok and p.id = l.id
      returning p.id, p.sku, p.name, p.stock
    ), sold_out as (
      insert into outbox (event_type, product_id, payload, fanned_out_at)
      select 'product.out_of_stock', t.id, ${productOutOfStockJson('t')},
             ${fannedOutUnlessWanted('product.out_of_stock', emails)}
      from taken t
      where t.stock = 0
    ), placed as (
      insert into orders (order_number, idempotency_key, request_hash, ${customerColumnList()},
                          total_cents)
      select ${orderNumber}, ${idempotencyKey}, ${requestHash}, ${customerParams(customer)}, v.total
      from verdict v where v.ok
      returning *
    ), placed_event as (
      -- The order as GET /api/orders/:orderNumber shows it, from the row just written, when a
      -- consumer wants it; otherwise no event at all (eventWanted, src/webhooks/fan-out.ts).
      insert into outbox (event_type, order_id, payload)
      select 'order.placed', o.id, ${orderJson('o', sql`(select ${lineItems} from locked l)`)}
      from placed o
      where ${eventWanted('order.placed', emails)}
    ), lines as (
      insert into order_lines (order_id, product_id, quantity, unit_price_cents)
      select o.id, l.id, l.quantity, l.price_cents from placed o, locked l
    ), sale as (
      -- The order's sales in one queue row (migration 0013).
      insert into sales_queue_batches (state, product_id, units, revenue_cents, orders)
      select array_agg(${customer.state}::bpchar), array_agg(id), array_agg(quantity),
             array_agg(revenue_cents), array_agg(first)
      from (select l.id, l.quantity, l.quantity::bigint * l.price_cents as revenue_cents,
                   (row_number() over (order by l.id) = 1)::int as first
            from placed o, locked l) l
      having count(*) > 0
    )
    select l.sku, l.name, l.quantity, l.price_cents, l.expected_cents, l.stock,
           o.id is not null as placed,
           o.created_at, o.status
    from locked l left join placed o on true
    order by l.sku
  `.execute(db)

  const placed = rows[0]
  if (placed?.placed) {
    return placedOrder(
      orderNumber,
      customer,
      placed.status ?? 'placed',
      placed.created_at ?? new Date(),
      rows,
    )
  }
  const found = new Set(rows.map((r) => r.sku))
  const unknown = skus.filter((s) => !found.has(s))
  if (unknown.length > 0) return { kind: 'unknown-product', skus: unknown }
  // The price first: a shopper who saw another price decides again on the new one, stock and all.
  const changed = rows.filter(
    (r) => r.expected_cents !== null && r.expected_cents !== r.price_cents,
  )
  if (changed.length > 0) {
    return {
      kind: 'price-changed',
      prices: changed.map((r) => ({
        sku: r.sku,
        expectedCents: r.expected_cents as number,
        unitPriceCents: r.price_cents,
      })),
    }
  }
  // r.stock is the stock as locked, before anything was taken: what is left.
  const short = rows.filter((r) => r.stock < r.quantity)
  return {
    kind: 'out-of-stock',
    skus: short.map((r) => r.sku),
    available: short.map((r) => ({ sku: r.sku, units: r.stock })),
  }
}
