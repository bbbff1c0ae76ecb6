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
 * stops after `limit` rows (migration 0005): status, state and e-mail on their
 * (column, created_at desc, id desc) index, a date range alone on orders_created, an order
 * number on its unique index. The key comparison is a row comparison, which the btree takes as
 * one index condition (after the filter's equality, on that filter's index).
 */
export function selectOrderList(
  db: Kysely<Database>,
  filters: OrderFilters,
  after: ListKey | undefined,
  limit: number,
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
  if (filters.email !== undefined) {
    query = query.where('o.email', '=', sql<string>`any(${[filters.email]}::text[])`)
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
  // The filtered column first in the ORDER BY: with one value it changes nothing in the order,
  // but only that filter's index gives this order without sorting every match, so the planner
  // takes it. Otherwise it may walk orders_created and filter (cheaper by its estimate for a
  // common status, as that index follows the table's physical order), which reads
  // 1/selectivity rows per row shown: a rare status or a small state reads far more than 51.
  // The filter is written `= any(array)` because the planner drops an ORDER BY column that
  // `column = constant` fixes, and with it this preference.
  const leading = leadingColumn(filters)
  if (leading) query = query.orderBy(leading)
  return query.orderBy('o.created_at', 'desc').orderBy('o.id', 'desc').limit(limit)
}

/** The equality-filtered column whose (column, created_at desc, id desc) index serves the list. */
function leadingColumn(filters: OrderFilters) {
  if (filters.status !== undefined) return 'o.status' as const
  if (filters.state !== undefined) return 'o.state' as const
  if (filters.email !== undefined) return 'o.email' as const
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
 * One page of the list: `orders` (at most pageSize) and the cursor key of the next page, or
 * null on the last one (one row more than a page is read to know).
 */
export async function listOrders(
  db: Kysely<Database>,
  filters: OrderFilters,
  after: ListKey | undefined,
): Promise<{ orders: OrderSummary[]; next: ListKey | null }> {
  const rows = await listOrderRows(db, filters, after, pageSize + 1)
  const page = rows.slice(0, pageSize)
  const last = page.at(-1)
  return {
    orders: page.map(toSummary),
    next: rows.length > pageSize && last ? keyOf(last) : null,
  }
}
