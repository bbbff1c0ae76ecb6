/** The error summary of a refused order form (the GOV.UK design system's pattern). */
import type { AdminProduct } from '../products/schemas.ts'
import { customerFields } from './customer.ts'
import { checkFields, quantityField } from './form-values.ts'

/** One line of the summary: a field's message, and the field it links to (none for the form's key). */
export interface SummaryEntry {
  text: string
  href?: string
}

/**
 * The messages the form shows by its fields, in the page's order, each a link to its field's id:
 * the products' one (to their fieldset's legend, `#items`: a link to the first quantity scrolled the
 * message, above the first product, out of view; from the legend, Tab reaches the first
 * quantity one can type in), each quantity's (named by its
 * product when its message does not name it: "Lantern – Sold out: taken out of your order."),
 * the shipping fields', then the form's key, which has no field to go to. Errors of fields the
 * page does not show are left out: the products' message says what they are.
 */
export function errorSummary(
  products: readonly AdminProduct[],
  errors: Readonly<Record<string, string>>,
): SummaryEntry[] {
  const entries: SummaryEntry[] = []
  if (errors.items) entries.push({ text: errors.items, href: '#items' })
  for (const product of products) {
    const field = quantityField(product.sku)
    const message = errors[field]
    if (message === undefined) continue
    const text = message.startsWith('Quantity of ') ? message : `${product.name} – ${message}`
    entries.push({ text, href: `#${field}` })
  }
  for (const { field } of customerFields) {
    const message = errors[field]
    if (message !== undefined) entries.push({ text: message, href: `#${field}` })
  }
  if (errors.idempotencyKey) entries.push({ text: errors.idempotencyKey })
  if (entries.length === 0 && Object.keys(errors).length > 0) entries.push({ text: checkFields })
  return entries
}
