import { type Kysely, sql } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import { precompile } from '../db/precompile.ts'
import type { Database } from '../db/schema.ts'
import type { Order } from './order.ts'

function selectOrders(db: Kysely<Database>) {
  return db
    .selectFrom('orders as o')
    .select((eb) => [
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

export function toOrder(row: OrderRow): Order {
  return {
    orderNumber: row.order_number,
    status: row.status,
    totalCents: Number(row.total_cents),
    items: row.items.map((i) => ({
      sku: i.sku,
      name: i.name,
      quantity: i.quantity,
      unitPriceCents: i.unit_price_cents,
    })),
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

// Every confirmation page runs this: compiled once, not per request. Lookups arriving together
// share one query (see orders-repository.ts).
const selectByNumbers = precompile(
  ['orderNumbers'],
  (db, { orderNumbers }: { orderNumbers: string[] }) =>
    selectOrders(db).where('o.order_number', '=', sql<string>`any(${orderNumbers}::text[])`),
)

/** The orders with these numbers, in the order asked; undefined where there is none. */
export async function findOrdersByNumber(
  db: Kysely<Database>,
  orderNumbers: readonly string[],
): Promise<(Order | undefined)[]> {
  const rows = await selectByNumbers(db, { orderNumbers: [...orderNumbers] })
  const found = new Map(rows.map((row) => [row.order_number, row]))
  return orderNumbers.map((n) => {
    const row = found.get(n)
    return row && toOrder(row)
  })
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
