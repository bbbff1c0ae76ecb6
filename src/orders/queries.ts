import { type Kysely, sql } from 'kysely'
import { precompile } from '../db/precompile.ts'
import type { Database } from '../db/schema.ts'
import { customerColumnRefs } from './customer.ts'
import { ordersFromLineRows } from './order-rows.ts'
import type { Order } from './schemas.ts'

/** What an order shows of itself, and of each of its lines: one row per line. */
function selectOrderLines(db: Kysely<Database>) {
  return db
    .selectFrom('orders as o')
    .innerJoin('order_lines as l', 'l.order_id', 'o.id')
    .innerJoin('products as p', 'p.id', 'l.product_id')
    .select([
      'o.order_number',
      'o.status',
      'o.total_cents',
      ...customerColumnRefs,
      // As PostgreSQL's text, which toOrder rewrites (isoInstant), not parsed by pg into a
      // Date first (postgres-date's regular expression per row, for toOrder only to print it).
      sql<string>`o.created_at::text`.as('created_at'),
      'o.carrier',
      'o.tracking_number',
      'p.sku',
      'p.name',
      'l.quantity',
      'l.unit_price_cents',
      // Whether an e-mail of the order was given up (`failed`: refused for good, or a day of
      // retries), for the confirmation page not to promise more: in the read, not one more
      // round trip a page. By the partial index order_emails_order_failed (migration 0020),
      // which holds only the few failed rows; the literal 'failed' because a generic plan can
      // use a partial index only for the value the query names.
      sql<boolean>`exists (select from order_emails m
                           where m.order_id = o.id and m.status = 'failed')`.as('email_failed'),
    ])
}

/**
 * An order as a read finds it: what the API shows (the API's schema leaves out the rest), and
 * `emailFailed: true` when one of its e-mails was given up (absent otherwise, so an order read
 * back equals the one placement answered).
 */
export type FoundOrder = Order & { emailFailed?: true }

const found = ({ order, row }: { order: Order; row: { email_failed: boolean } }): FoundOrder =>
  row.email_failed ? Object.assign(order, { emailFailed: true as const }) : order

// Every confirmation page runs this: compiled once, not per request. Lookups arriving together
// share one query (see order-batcher.ts). One row per line, grouped in Node: PostgreSQL spends
// a fifth less per order than on a JSON aggregate per order (a subplan, a sort and json_agg for
// each), measured with pgbench over 25-order batches (docs/benchmarks.md).
export const selectLinesByNumbers = precompile(
  ['orderNumbers'],
  (db, { orderNumbers }: { orderNumbers: string[] }) =>
    selectOrderLines(db).where('o.order_number', '=', sql<string>`any(${orderNumbers}::text[])`),
)

/** The orders with these canonical numbers, in the order asked; undefined where there is none. */
export async function findOrdersByNumber(
  db: Kysely<Database>,
  orderNumbers: readonly string[],
): Promise<(FoundOrder | undefined)[]> {
  const orders = ordersFromLineRows(
    await selectLinesByNumbers(db, { orderNumbers: [...orderNumbers] }),
  )
  return orderNumbers.map((n) => {
    const entry = orders.get(n)
    return entry && found(entry)
  })
}

/** The order with this canonical number, or undefined. */
export async function findOrderByNumber(
  db: Kysely<Database>,
  orderNumber: string,
): Promise<Order | undefined> {
  const [order] = await findOrdersByNumber(db, [orderNumber])
  return order
}

/** The order an idempotency key made, with the hash of the request that made it. */
export async function findOrderByIdempotencyKey(
  db: Kysely<Database>,
  key: string,
): Promise<{ order: FoundOrder; requestHash: string } | undefined> {
  const rows = await selectOrderLines(db)
    .select('o.request_hash')
    .where('o.idempotency_key', '=', key)
    .execute()
  const [entry] = ordersFromLineRows(rows).values()
  return entry && { order: found(entry), requestHash: entry.row.request_hash }
}
