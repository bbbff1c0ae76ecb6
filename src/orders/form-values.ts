/** The order form's values, lines and wording, as the page routes read and show them. */
import { formatCents } from '../money.ts'
import type { AdminProduct } from '../products/schemas.ts'
import { customerLabels, formMaxLengths } from './customer.ts'
import { orderLimits } from './limits.ts'
import type { PriceChange } from './placement.ts'
import { formPricePattern, formQuantityKey, type OrderLineInput } from './schemas.ts'

/** What the order form says of the limits (orderLimits), and its fields' maxlength. */
export const formLimits = { ...orderLimits, maxLength: formMaxLengths }

/** The form's fields but the quantities as its messages name them. */
export const labels: Record<string, string> = {
  ...customerLabels,
  idempotencyKey: 'This form',
}
/** A product's field: its quantity or its price (one pattern: tested on every field). */
const productField = new RegExp(`^(?:qty|price)-${formQuantityKey.source.slice('^qty-'.length)}`)
/** The names `labels` has, as a Set: `in` on the object cost a prototype walk per quantity field. */
const labelled = new Set(Object.keys(labels))
/**
 * The form's hidden key, missing or not a UUID: one sentence either way, since the shopper typed
 * neither (an edited or truncated form).
 */
export const damagedForm = 'This form is missing or damaged; reload the page and submit again.'
/** The form's alert when fields have messages and nothing else says what happened. */
export const checkFields = 'Please check the highlighted fields below.'
/** A product's quantity field, as the form names it and its messages key it. */
export const quantityField = (sku: string) => `qty-${sku}`

export interface FormState {
  values?: Record<string, string>
  errors?: Record<string, string>
  notice?: string
  /**
   * The order this form's idempotency key already placed, when the form comes back changed
   * (422): the summary links to it and says it stands, so a shopper who edited the form during
   * a slow submit sees the order they have before placing a second one.
   */
  placedOrder?: string
  idempotencyKey?: string
  /**
   * The catalogue to show, when the route has just read it or cannot confirm it; else the cached
   * one, read again when it disagrees with the form (form-catalogue.ts).
   */
  products?: readonly AdminProduct[]
}

/**
 * What the shopper typed, as strings, so a re-rendered form keeps every value; the prices the
 * form showed too, which only a form without its catalogue sends again (order-form.eta).
 */
export function typedValues(body: unknown): Record<string, string> {
  const values: Record<string, string> = {}
  if (body && typeof body === 'object') {
    const fields = body as Record<string, unknown>
    // for…in, not Object.entries: no array per field (the form has one per product).
    for (const k in fields) {
      if (!Object.hasOwn(fields, k)) continue
      const v = fields[k]
      const first = Array.isArray(v) ? v[0] : v
      const kept = labelled.has(k) || productField.test(k)
      if (kept && first !== undefined && first !== null) values[k] = String(first)
    }
  }
  return values
}

/** A form line: a product with a quantity above 0, and the field it was typed in. */
export interface FormLine extends OrderLineInput {
  field: string
}

/**
 * The lines the shopper chose: each `qty-<SKU>` field holding digits (those with a message
 * already are left out) and a quantity above 0, empty being 0. A number too long to be exact
 * is Infinity, so it still fails the limit instead of wrapping. A line expects the price its
 * `price-<SKU>` field (same spelling of the SKU) showed, when the form has one.
 */
export function formLines(
  values: Record<string, string>,
  errors: Record<string, string>,
): FormLine[] {
  const lines: FormLine[] = []
  for (const field in values) {
    if (!Object.hasOwn(values, field)) continue
    const value = values[field] as string
    // Most of a form's quantities are 0: no line, whatever the field (before the pattern); a
    // price is no quantity.
    if (value === '0' || value === '' || !field.startsWith('qty-')) continue
    const sku = formQuantityKey.exec(field)?.[1]
    if (sku === undefined || errors[field] || !/^[0-9]*$/.test(value)) continue
    const quantity = value === '' ? 0 : Number(value)
    if (quantity <= 0) continue
    const price = values[`price-${sku}`]
    const line: FormLine = { sku: sku.toUpperCase(), quantity, field }
    if (price !== undefined && formPricePattern.test(price)) line.unitPriceCents = Number(price)
    lines.push(line)
  }
  return lines
}

/** Whether the form shows the product of a quantity field. */
export const shown = (products: readonly AdminProduct[], field: string) =>
  products.some((p) => quantityField(p.sku) === field)

export const productName = (products: readonly AdminProduct[], sku: string) =>
  products.find((p) => p.sku === sku)?.name ?? sku

/** `Quantity of Coffee Mug`: how a message names a quantity field. */
export function quantityLabel(products: readonly AdminProduct[], field: string): string {
  const sku = formQuantityKey.exec(field)?.[1]?.toUpperCase()
  return sku === undefined ? field : `Quantity of ${productName(products, sku)}`
}

/** `A`, `A and B`, `A, B and C`. */
export function listed(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
}

/** The message by a chosen product's quantity once it is sold out, or off sale. */
const soldOutMessage = 'Sold out: taken out of your order.'
const offSaleMessage = 'Not on sale any more: taken out of your order.'
const goneMessage = (onSale: boolean) => (onSale ? soldOutMessage : offSaleMessage)
/** What the shopper is told besides, whatever took a product out of the order. */
const restAsTyped = 'Everything else is as you filled it in; nothing was ordered yet.'

/**
 * `Lantern is sold out, so it was taken out of your order.`, `… and Mug is no longer on sale, so
 * they were …` for the products sold out (`soldOut`) and off sale (`offSale`), by name.
 */
function goneSentence(soldOut: readonly string[], offSale: readonly string[] = []): string {
  const part = (names: readonly string[], what: string) =>
    names.length === 0 ? [] : [`${listed(names)} ${names.length === 1 ? 'is' : 'are'} ${what}`]
  const parts = [...part(soldOut, 'sold out'), ...part(offSale, 'no longer on sale')]
  const was = soldOut.length + offSale.length === 1 ? 'it was' : 'they were'
  return `${parts.join(' and ')}, so ${was} taken out of your order.`
}

/**
 * The 400 form's wording for the products an order was refused for as unknown or off sale
 * (`skus`), read against the catalogue as it is now: one the page shows (off sale, so shown
 * disabled at 0) is named as taken out of the order, like one sold out; one it does not (an old
 * or edited form) is "Choose a product from the list."
 */
export function offSale(
  products: readonly AdminProduct[],
  skus: readonly string[],
): { errors: Record<string, string>; notice?: string } {
  const errors: Record<string, string> = {}
  const names: string[] = []
  for (const sku of skus) {
    const product = products.find((p) => p.sku === sku)
    if (product === undefined) {
      errors.items = 'Choose a product from the list.'
    } else {
      names.push(product.name)
      errors[quantityField(sku)] = offSaleMessage
    }
  }
  const notice = names.length > 0 ? `${goneSentence([], names)} ${restAsTyped}` : undefined
  return { errors, notice }
}

/**
 * Whether the shopper chose a product in a quantity field: anything typed but nothing or zeros,
 * so a mistyped quantity (`2.0`, `-1`) counts as chosen.
 */
const chosen = (quantity: string | undefined) =>
  quantity !== undefined && !/^[0\s]*$/.test(quantity)

/**
 * The 409 form's wording for products short of stock, read against the catalogue as it is now
 * (`products`, read after the refusal; `available`, the refusal's own units, stands in for a
 * product it does not list). A product now at 0 (or off sale) shows disabled at 0, so it is
 * named as sold out and taken out of the order (its quantity is not sent again); any other is
 * kept as typed, with how many are left, for the shopper to lower.
 */
export function shortStock(
  products: readonly AdminProduct[],
  available: readonly { sku: string; units: number }[],
  values: Record<string, string>,
): { values: Record<string, string>; errors: Record<string, string>; notice: string } {
  const errors: Record<string, string> = {}
  const kept = { ...values }
  const soldOut: string[] = []
  const notOnSale: string[] = []
  const short: string[] = []
  for (const { sku, units } of available) {
    const product = products.find((p) => p.sku === sku)
    const field = quantityField(sku)
    const onSale = product?.onSale !== false
    const left = onSale ? (product?.stock ?? units) : 0
    if (left === 0) {
      ;(onSale ? soldOut : notOnSale).push(productName(products, sku))
      kept[field] = '0'
      errors[field] = goneMessage(onSale)
    } else {
      short.push(`${left} ${productName(products, sku)}`)
      errors[field] = `Sorry, there is not enough stock left for that quantity. Only ${left} left.`
    }
  }
  const sentences: string[] = []
  if (soldOut.length + notOnSale.length > 0) {
    sentences.push(goneSentence(soldOut, notOnSale))
  }
  if (short.length > 0) {
    const them = short.length === 1 ? 'the quantity or set it' : 'the quantities or set them'
    sentences.push(`Only ${listed(short)} left: lower ${them} to 0.`)
  }
  sentences.push(restAsTyped)
  return { values: kept, errors, notice: sentences.join(' ') }
}

/**
 * The chosen products (a quantity above 0) on sale whose price in `products` is not the one the
 * form showed (its `price-<SKU>`): what a form shown again tells before the shopper places it at
 * the new price, whatever else brought it back (400, 409, 422, 429).
 */
export function priceChanges(
  products: readonly AdminProduct[],
  values: Record<string, string>,
): PriceChange[] {
  const changes: PriceChange[] = []
  for (const { sku, priceCents, onSale } of products) {
    const shown = values[`price-${sku}`]
    const quantity = values[quantityField(sku)]
    if (!onSale || shown === undefined || !formPricePattern.test(shown)) continue
    if (!chosen(quantity)) continue
    if (Number(shown) !== priceCents) {
      changes.push({ sku, expectedCents: Number(shown), unitPriceCents: priceCents })
    }
  }
  return changes
}

/**
 * The wording for `changes`: a message by each product's quantity, the sentence that names them
 * ("Since this page was shown, the price of Lantern changed from $49.00 to $54.00.") and what to
 * do when nothing else is wrong.
 */
export function priceChangeWording(
  products: readonly AdminProduct[],
  changes: readonly PriceChange[],
): { errors: Record<string, string>; sentence: string; advice: string } {
  const errors: Record<string, string> = {}
  const named = changes.map(({ sku, expectedCents, unitPriceCents }) => {
    const fromTo = `from ${formatCents(expectedCents)} to ${formatCents(unitPriceCents)}`
    errors[quantityField(sku)] = `The price changed ${fromTo}.`
    return { name: productName(products, sku), fromTo }
  })
  const changed =
    named.length === 1
      ? `the price of ${named[0]?.name} changed ${named[0]?.fromTo}`
      : `prices changed: ${listed(named.map((c) => `${c.name} ${c.fromTo}`))}`
  const [price, it] = named.length === 1 ? ['price', 'it'] : ['prices', 'them']
  return {
    errors,
    sentence: `Since this page was shown, ${changed}.`,
    advice: `Check the new ${price} and place the order again to buy at ${it}, or change your order; nothing was ordered yet.`,
  }
}

/**
 * What changed since the submitted form was shown, for a form shown again: each chosen product
 * whose price is not the one submitted (priceChanges), and each chosen product now sold out or
 * off sale (the page shows it disabled at 0, so placing the form again leaves it out), unless
 * its field has a message already (`errors`, the route's own: the 409 for stock names them).
 * Gives the messages by the quantities, the sentences naming them, and whether only prices
 * changed.
 */
export function changesSinceShown(
  products: readonly AdminProduct[],
  values: Record<string, string>,
  errors: Record<string, string>,
): { errors: Record<string, string>; sentences: string[]; advice: string } {
  const found: Record<string, string> = {}
  const sentences: string[] = []
  const changes = priceChanges(products, values)
  let advice = 'Check your order and place it again; nothing was ordered yet.'
  if (changes.length > 0) {
    const wording = priceChangeWording(products, changes)
    Object.assign(found, wording.errors)
    sentences.push(wording.sentence)
    advice = wording.advice
  }
  const gone = products.filter((p) => {
    const field = quantityField(p.sku)
    return (!p.onSale || p.stock === 0) && chosen(values[field]) && errors[field] === undefined
  })
  if (gone.length > 0) {
    for (const p of gone) found[quantityField(p.sku)] = goneMessage(p.onSale)
    const names = (onSale: boolean) => gone.filter((p) => p.onSale === onSale).map((p) => p.name)
    sentences.push(goneSentence(names(true), names(false)))
  }
  return { errors: found, sentences, advice }
}
