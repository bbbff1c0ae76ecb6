import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/schema.ts'
import type { OrderStatus } from '../lifecycle/transitions.ts'
import { customerColumnRefs, customerFromRow } from '../orders/customer.ts'
import type { ListKey } from './cursor.ts'
import type { OrderFilters } from './filters.ts'
import type { OrderSummary } from './schemas.ts'

/** One page of the back office's list. */
export const pageSize = 50

/**
 * Orders newest first ((created_at, id) descending), after `after` when given, at most `limit`:
 * one statement, a keyset page, never OFFSET. Each filter alone is an index range scan that
 * stops after `limit` rows (migrations 0005, 0016): status, state and lower(e-mail) on their
 * (column, created_at desc, id desc) index, a date range alone on orders_created, an order
 * number on its unique index. The key comparison is a row comparison, which the btree takes as
 * one index condition (after the filter's equality, on that filter's index).
 */
export function selectOrderList(
  db: Kysely<Database>,
  filters: OrderFilters,
  after: ListKey | undefined,
  limit: number,
  /** Instead of `after`: the rows just newer than this key, oldest first (a backward scan). */
  before?: ListKey,
) {
  let query = db.selectFrom('orders as o').select([
    'o.id',
    // The key with PostgreSQL's microseconds, in UTC whatever the session's settings.
    sql<string>`to_char(o.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
      'created_key',
    ),
    'o.order_number',
    'o.status',
    'o.total_cents',
    ...customerColumnRefs,
    'o.carrier',
    'o.tracking_number',
  ])
  // `= any(array of one)`, not `=`: see the ORDER BY below.
  if (filters.status !== undefined) {
    query = query.where('o.status', '=', sql<string>`any(${[filters.status]}::text[])`)
  }
  if (filters.state !== undefined) {
    query = query.where('o.state', '=', sql<string>`any(${[filters.state]}::bpchar[])`)
  }
  // An e-mail in any case, on both sides of the @ (lower() as PostgreSQL folds it, the one
  // fold the index holds: migration 0016's orders_email_lower_created).
  if (filters.email !== undefined) {
    query = query.where(emailFolded, '=', sql<string>`any(array[lower(${filters.email}::text)])`)
  }
  if (filters.orderNumber !== undefined) {
    query = query.where('o.order_number', '=', filters.orderNumber)
  }
  if (filters.createdFrom !== undefined) {
    query = query.where('o.created_at', '>=', sql<Date>`${filters.createdFrom}::timestamptz`)
  }
  if (filters.createdBefore !== undefined) {
    query = query.where('o.created_at', '<', sql<Date>`${filters.createdBefore}::timestamptz`)
  }
  if (after) {
    query = query.where(
      sql<boolean>`(o.created_at, o.id) < (${after.createdAt}::timestamptz, ${after.id}::bigint)`,
    )
  }
  if (before) {
    query = query.where(
      sql<boolean>`(o.created_at, o.id) > (${before.createdAt}::timestamptz, ${before.id}::bigint)`,
    )
  }
  // The filtered column first in the ORDER BY: with one value it changes nothing in the order,
  // but only that filter's index gives this order without sorting every match, so the planner
  // takes it. Otherwise it may walk orders_created and filter (cheaper by its estimate for a
  // common status, as that index follows the table's physical order), which reads
  // 1/selectivity rows per row shown: a rare status or a small state reads far more than 51.
  // The filter is written `= any(array)` because the planner drops an ORDER BY column that
  // `column = constant` fixes, and with it this preference.
  // Before a key, the same index read the other way (every column reversed, the filtered one
  // too, or the index gives neither order): the nearest newer rows first.
  const order = before ? 'asc' : 'desc'
  const leading = leadingColumn(filters)
  if (leading) query = query.orderBy(leading, before ? 'desc' : 'asc')
  return query.orderBy('o.created_at', order).orderBy('o.id', order).limit(limit)
}

/** The e-mail as the list matches it and its index holds it: lower-cased. */
const emailFolded = sql<string>`lower(o.email)`

/**
 * The equality-filtered column (or expression) whose (it, created_at desc, id desc) index
 * serves the list.
 */
function leadingColumn(filters: OrderFilters) {
  if (filters.status !== undefined) return 'o.status' as const
  if (filters.state !== undefined) return 'o.state' as const
  if (filters.email !== undefined) return emailFolded
  return undefined
}

export type ListRow = Awaited<ReturnType<ReturnType<typeof selectOrderList>['execute']>>[number]

/** A row's place in the list: what the next page starts after. */
export const keyOf = (row: ListRow): ListKey => ({
  createdAt: row.created_key,
  id: String(row.id),
})

/**
 * A row's key time (`2026-11-29T11:16:32.123456Z`, always this shape: see selectOrderList's
 * to_char, years 1970 to 9999) as Date.prototype.toISOString writes it
 * (`2026-11-29T11:16:32.123Z`): the microseconds cut, as Date cuts them, without making a Date
 * (the CSV does this a million times).
 */
export const createdAtOf = (row: Pick<ListRow, 'created_key'>): string =>
  `${row.created_key.slice(0, 23)}Z`

/**
 * A row as the list shows it. `createdAt` is the ISO 8601 of Date.prototype.toISOString
 * (milliseconds, `2026-11-29T11:16:32.123Z`), as every other answer gives it: the key's
 * microseconds stay in the cursor (keyOf), where the next page needs them.
 */
export function toSummary(row: ListRow): OrderSummary {
  return {
    orderNumber: row.order_number,
    createdAt: createdAtOf(row),
    status: row.status as OrderStatus,
    totalCents: Number(row.total_cents),
    customer: customerFromRow(row),
    carrier: row.carrier,
    trackingNumber: row.tracking_number,
  }
}

/** Up to `limit` orders after `after`, as rows (with their keys). */
export function listOrderRows(
  db: Kysely<Database>,
  filters: OrderFilters,
  after: ListKey | undefined,
  limit: number,
): Promise<ListRow[]> {
  return selectOrderList(db, filters, after, limit).execute()
}

/**
 * A page of the list: `orders` (at most pageSize, newest first), and the keys of the pages on
 * either side, null where there is none: `next` starts after its last row, `previous` before
 * its first (null on the first page).
 */
export interface OrderPage {
  orders: OrderSummary[]
  next: ListKey | null
  previous: ListKey | null
}

/**
 * The page after `after` (the first page without it). Its `next` is null on the last page (one
 * row more than a page is read to know); `previous` is null on the first page only.
 */
export async function listOrders(
  db: Kysely<Database>,
  filters: OrderFilters,
  after: ListKey | undefined,
): Promise<OrderPage> {
  const rows = await listOrderRows(db, filters, after, pageSize + 1)
  const page = rows.slice(0, pageSize)
  const [top, last] = [page[0], page.at(-1)]
  return {
    orders: page.map(toSummary),
    next: rows.length > pageSize && last ? keyOf(last) : null,
    previous: after && top ? keyOf(top) : null,
  }
}

/**
 * The page before `before` (the page's "Previous page"): the pageSize orders just newer than
 * it, read oldest first (the index backwards) and shown newest first. Its `next` is null when
 * no order follows its last (the key's own order may have left the filter meanwhile). When
 * fewer than a page are newer, that is the top of the list: the first page itself, as
 * listOrders reads it (rather than a page of fewer rows cut short at the top).
 */
export async function listOrdersBefore(
  db: Kysely<Database>,
  filters: OrderFilters,
  before: ListKey,
): Promise<OrderPage> {
  const rows = await selectOrderList(db, filters, undefined, pageSize + 1, before).execute()
  if (rows.length <= pageSize) return listOrders(db, filters, undefined)
  const page = rows.slice(0, pageSize).reverse()
  const [newest, oldest] = [page[0] as ListRow, page.at(-1) as ListRow]
  const more = await listOrderRows(db, filters, keyOf(oldest), 1)
  return {
    orders: page.map(toSummary),
    next: more.length > 0 ? keyOf(oldest) : null,
    previous: keyOf(newest),
  }
}
