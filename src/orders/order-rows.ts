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
    createdAt: new Date(row.created_at).toISOString(),
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
  return new Map(
    [...byNumber].map(([n, { row, lines }]) => [n, { row, order: toOrder(row, lines) }]),
  )
}
