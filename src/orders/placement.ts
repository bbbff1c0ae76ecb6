import { hash } from 'node:crypto'
import { type Customer, type CustomerColumns, customerFields, customerValues } from './customer.ts'
import { toOrder } from './order-rows.ts'
import type { Order, OrderLineInput } from './schemas.ts'

/**
 * What placing an order answers, and the helpers that the single placement (place-order.ts)
 * and the batch (place-order-batch.ts) share, so both read a request the same way.
 */
export type PlaceOrderResult =
  | { kind: 'placed'; order: Order }
  /** The same idempotency key and the same request again: the order it made the first time. */
  | { kind: 'replayed'; order: Order }
  /** The same idempotency key with a different request. */
  | { kind: 'key-reused'; orderNumber: string }
  /**
   * Refused for stock: the SKUs of the short lines, and for each the units left as the order
   * found them (locked), in the same order.
   */
  | { kind: 'out-of-stock'; skus: string[]; available: { sku: string; units: number }[] }
  | { kind: 'unknown-product'; skus: string[] }
  /**
   * Refused because a line's `unitPriceCents` (the price the client showed) is not the
   * product's price now: each such product with the price expected and the price now, by SKU.
   */
  | { kind: 'price-changed'; prices: PriceChange[] }

/** A product whose price is no longer the one the order expected, in cents. */
export interface PriceChange {
  sku: string
  expectedCents: number
  unitPriceCents: number
}

/**
 * One line per product, in SKU order: two lines of the same SKU are one line with the summed
 * quantity, and the unit price the first of them expects (linesProblem refuses two different
 * ones before an order gets here).
 */
export function mergeLines(items: readonly OrderLineInput[]): OrderLineInput[] {
  const bySku = new Map<string, OrderLineInput>()
  for (const { sku, quantity, unitPriceCents } of items) {
    const line = bySku.get(sku)
    if (!line)
      bySku.set(
        sku,
        unitPriceCents === undefined ? { sku, quantity } : { sku, quantity, unitPriceCents },
      )
    else {
      line.quantity += quantity
      line.unitPriceCents ??= unitPriceCents
    }
  }
  return [...bySku.values()].sort((a, b) => a.sku.localeCompare(b.sku))
}

/**
 * What an idempotency key is held to: the merged lines' SKUs and quantities and the customer's
 * fields (in customerFields order), as a base64url SHA-256. A replay with another hash is a
 * reused key. The expected unit prices are left out: they are a precondition of placing the
 * order, not part of what is ordered, so a retry answers with the order whatever prices it names.
 */
export function hashRequest(items: readonly OrderLineInput[], customer: Customer): string {
  const lines = items.some((l) => l.unitPriceCents !== undefined)
    ? items.map(({ sku, quantity }) => ({ sku, quantity }))
    : items
  const canonical = JSON.stringify([lines, customerValues(customer)])
  // The one-shot hash: no Hash object per order (createHash's cost is mostly making one).
  return hash('sha256', canonical, 'base64url')
}

/** A placed line as the placing statements return it (the product's current price). */
export interface PlacedLine {
  sku: string
  name: string
  quantity: number
  price_cents: number
}

/** The answer for a placed order, from its lines as the statement returned them. */
export function placedOrder(
  orderNumber: string,
  customer: Customer,
  status: string,
  createdAt: Date | string,
  lines: readonly PlacedLine[],
): PlaceOrderResult {
  const columns: Record<string, string> = {}
  for (const f of customerFields) columns[f.column] = customer[f.field]
  const order = toOrder(
    {
      ...(columns as CustomerColumns),
      order_number: orderNumber,
      status,
      total_cents: lines.reduce((sum, r) => sum + r.price_cents * r.quantity, 0),
      created_at: createdAt,
    },
    lines.map((r) => ({ ...r, unit_price_cents: r.price_cents })),
  )
  return { kind: 'placed', order }
}
