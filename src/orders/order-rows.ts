import { type CustomerColumns, customerFromRow } from './customer.ts'
import type { Order } from './schemas.ts'

/** An order's own columns as read from `orders` (bigint total as pg or PGlite return it). */
export type OrderRow = CustomerColumns & {
  order_number: string
  status: string
  total_cents: string | number | bigint
  created_at: Date | string
  /** Set once shipped (src/lifecycle); absent from a placement's answer, which is never shipped. */
  carrier?: string | null
  tracking_number?: string | null
}

/** One line of an order: its product and the unit price captured when it was placed. */
export interface LineRow {
  sku: string
  name: string
  quantity: number
  unit_price_cents: number
}

const bySku = (a: { sku: string }, b: { sku: string }) =>
  a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0

/** PostgreSQL's text of a timestamptz in the session's ISO datestyle and UTC (sessionSettings). */
const utcText = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?\+00$/

/**
 * An instant as the answers show it: toISOString's text (UTC, milliseconds, truncated as a Date
 * truncates microseconds). PostgreSQL's own text ('2026-11-30 12:32:34.443123+00', as the reads
 * select it) is rewritten as it is: parsing it into a Date to print it again cost a lookup
 * about 2 µs of Node CPU (postgres-date's regular expression, then toISOString).
 */
export function isoInstant(value: Date | string): string {
  if (typeof value === 'string' && utcText.test(value)) {
    const ms = value[19] === '.' ? value.slice(20, -3).padEnd(3, '0').slice(0, 3) : '000'
    return `${value.slice(0, 10)}T${value.slice(11, 19)}.${ms}Z`
  }
  return new Date(value).toISOString()
}

/**
 * The one mapping of rows to an Order, for every read and for the answer of a placement: the
 * order's row and its lines, which come out in SKU order (the order placement writes them in;
 * rows of a read come back in no promised order).
 */
export function toOrder(row: OrderRow, lines: readonly LineRow[]): Order {
  const items = lines.map((l) => ({
    sku: l.sku,
    name: l.name,
    quantity: l.quantity,
    unitPriceCents: l.unit_price_cents,
  }))
  if (items.length > 1) items.sort(bySku)
  return {
    orderNumber: row.order_number,
    status: row.status,
    totalCents: Number(row.total_cents),
    items,
    customer: customerFromRow(row),
    createdAt: isoInstant(row.created_at),
    carrier: row.carrier ?? null,
    trackingNumber: row.tracking_number ?? null,
  }
}

/** Rows of one line each (the order's columns repeated) as orders, by order number. */
export function ordersFromLineRows<R extends OrderRow & LineRow>(rows: readonly R[]) {
  const byNumber = new Map<string, { row: R; lines: R[] }>()
  for (const row of rows) {
    const group = byNumber.get(row.order_number)
    if (group) group.lines.push(row)
    else byNumber.set(row.order_number, { row, lines: [row] })
  }
  // A loop, not new Map([...byNumber].map(...)): no array of entries and of pairs per read.
  const orders = new Map<string, { row: R; order: Order }>()
  for (const [n, { row, lines }] of byNumber) orders.set(n, { row, order: toOrder(row, lines) })
  return orders
}
