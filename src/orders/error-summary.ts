/** The error summary of a refused order form (the GOV.UK design system's pattern). */
import type { AdminProduct } from '../products/schemas.ts'
import { customerFields } from './customer.ts'
import { checkFields, quantityField } from './form-values.ts'

/** One line of the summary: a field's message, and the field it links to (none for the form's key). */
export interface SummaryEntry {
  text: string
  href?: string
}

/** Whether the form shows `product`'s quantity as one to type in (not sold out, not off sale). */
const choosable = (product: AdminProduct) => product.onSale && product.stock > 0

/**
 * The messages the form shows by its fields, in the page's order, each a link to its field's id:
 * the products' one (to the first quantity one can type in), each quantity's (named by its
 * product when its message does not name it: "Lantern – Sold out: taken out of your order."),
 * the shipping fields', then the form's key, which has no field to go to. Errors of fields the
 * page does not show are left out: the products' message says what they are.
 */
export function errorSummary(
  products: readonly AdminProduct[],
  errors: Readonly<Record<string, string>>,
): SummaryEntry[] {
  const entries: SummaryEntry[] = []
  if (errors.items) {
    const first = products.find(choosable)
    entries.push({ text: errors.items, href: first && `#${quantityField(first.sku)}` })
  }
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
