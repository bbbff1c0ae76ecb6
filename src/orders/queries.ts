import { type Kysely, sql } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import { precompile } from '../db/precompile.ts'
import type { Database } from '../db/schema.ts'
import type { Order, OrderItem } from './order.ts'

/** What an order shows of itself, besides its lines. */
const orderColumns = [
  'o.order_number',
  'o.status',
  'o.total_cents',
  'o.customer_name',
  'o.email',
  'o.address',
  'o.city',
  'o.state',
  'o.zip',
  'o.created_at',
] as const

function selectOrders(db: Kysely<Database>) {
  return db
    .selectFrom('orders as o')
    .select((eb) => [
      ...orderColumns,
      'o.request_hash',
      jsonArrayFrom(
        eb
          .selectFrom('order_lines as l')
          .innerJoin('products as p', 'p.id', 'l.product_id')
          .select(['p.sku', 'p.name', 'l.quantity', 'l.unit_price_cents'])
          .whereRef('l.order_id', '=', 'o.id')
          .orderBy('p.sku'),
      ).as('items'),
    ])
}

type OrderRow = NonNullable<
  Awaited<ReturnType<ReturnType<typeof selectOrders>['executeTakeFirst']>>
>

type OrderColumns = Omit<OrderRow, 'items' | 'request_hash'>

function orderFrom(row: OrderColumns, items: OrderItem[]): Order {
  return {
    orderNumber: row.order_number,
    status: row.status,
    totalCents: Number(row.total_cents),
    items,
    customer: {
      name: row.customer_name,
      email: row.email,
      address: row.address,
      city: row.city,
      state: row.state,
      zip: row.zip,
    },
    createdAt: new Date(row.created_at).toISOString(),
  }
}

function toOrder(row: OrderRow): Order {
  return orderFrom(
    row,
    row.items.map((i) => ({
      sku: i.sku,
      name: i.name,
      quantity: i.quantity,
      unitPriceCents: i.unit_price_cents,
    })),
  )
}

// Every confirmation page runs this: compiled once, not per request. Lookups arriving together
// share one query (see orders-repository.ts). One row per line, grouped here: PostgreSQL spends
// a fifth less per order than on a JSON aggregate per order (a subplan, a sort and json_agg for
// each), measured with pgbench over 25-order batches (docs/benchmarks.md).
export const selectLinesByNumbers = precompile(
  ['orderNumbers'],
  (db, { orderNumbers }: { orderNumbers: string[] }) =>
    db
      .selectFrom('orders as o')
      .innerJoin('order_lines as l', 'l.order_id', 'o.id')
      .innerJoin('products as p', 'p.id', 'l.product_id')
      .select([...orderColumns, 'p.sku', 'p.name', 'l.quantity', 'l.unit_price_cents'])
      .where('o.order_number', '=', sql<string>`any(${orderNumbers}::text[])`),
)

const bySku = (a: OrderItem, b: OrderItem) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0)

/** The orders with these numbers, in the order asked; undefined where there is none. */
export async function findOrdersByNumber(
  db: Kysely<Database>,
  orderNumbers: readonly string[],
): Promise<(Order | undefined)[]> {
  const rows = await selectLinesByNumbers(db, { orderNumbers: [...orderNumbers] })
  const found = new Map<string, Order>()
  for (const row of rows) {
    const item: OrderItem = {
      sku: row.sku,
      name: row.name,
      quantity: row.quantity,
      unitPriceCents: row.unit_price_cents,
    }
    const order = found.get(row.order_number)
    if (order) order.items.push(item)
    else found.set(row.order_number, orderFrom(row, [item]))
  }
  for (const order of found.values()) if (order.items.length > 1) order.items.sort(bySku)
  return orderNumbers.map((n) => found.get(n))
}

export async function findOrderByNumber(
  db: Kysely<Database>,
  orderNumber: string,
): Promise<Order | undefined> {
  const [order] = await findOrdersByNumber(db, [orderNumber])
  return order
}

export async function findOrderByIdempotencyKey(
  db: Kysely<Database>,
  key: string,
): Promise<{ order: Order; requestHash: string } | undefined> {
  const row = await selectOrders(db).where('o.idempotency_key', '=', key).executeTakeFirst()
  return row && { order: toOrder(row), requestHash: row.request_hash }
}
