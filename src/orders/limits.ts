import { mergeLines } from './placement.ts'
import type { OrderLineInput } from './schemas.ts'

/**
 * The limits on one order, the same for the API (POST /api/orders) and the order form (POST
 * /orders), defined here only: the schemas, the form's inputs and the checks below read them.
 */
export const orderLimits = {
  /** Most units of one product in an order, once lines of that product are merged. */
  maxLineQuantity: 100,
  /** Most lines an order may have: the API's `items` as sent, the form's products chosen. */
  maxLines: 20,
} as const

/** Why a set of lines cannot be placed as one order; undefined when it can. */
export type LinesProblem =
  | { kind: 'no-lines' }
  | { kind: 'too-many-lines'; lines: number }
  /** One product's merged line over maxLineQuantity: `lines` is how many lines it came from. */
  | { kind: 'line-over'; sku: string; quantity: number; lines: number }
  /**
   * Lines of one product expecting different unit prices: which one holds is not known. `line`
   * is the index of the first line naming another price than the one before it.
   */
  | { kind: 'price-conflict'; sku: string; prices: number[]; line: number }

/**
 * Checks the lines as they will be stored (lines of one product merged into one, as placeOrder
 * does): lines of one product expecting one unit price at most, at least one line, at most
 * maxLines, each merged line at most maxLineQuantity units.
 * Each line as sent is already 1..maxLineQuantity (the schemas); nothing limits an order's value
 * beyond these.
 */
export function linesProblem(items: readonly OrderLineInput[]): LinesProblem | undefined {
  const prices = new Map<string, number>()
  for (const [line, { sku, unitPriceCents }] of items.entries()) {
    if (unitPriceCents === undefined) continue
    const first = prices.get(sku)
    if (first === undefined) prices.set(sku, unitPriceCents)
    else if (first !== unitPriceCents) {
      return { kind: 'price-conflict', sku, prices: [first, unitPriceCents], line }
    }
  }
  const merged = mergeLines(items)
  if (merged.length === 0) return { kind: 'no-lines' }
  if (merged.length > orderLimits.maxLines) return { kind: 'too-many-lines', lines: merged.length }
  for (const { sku, quantity } of merged) {
    if (quantity <= orderLimits.maxLineQuantity) continue
    const lines = items.filter((item) => item.sku === sku).length
    return { kind: 'line-over', sku, quantity, lines }
  }
  return undefined
}
