// What the flows send to place an order, and what a refused one (409) refused. Plain JavaScript
// with no k6 module, so test/k6 runs it under Node against the service's own pages and answers.
import { parseOrderForm, QUANTITY_FIELD_RE } from './html.js'

/**
 * @typedef {import('./html.js').OrderForm} OrderForm
 * @typedef {import('./data.js').Customer} Customer
 * @typedef {import('./responses.js').Product} Product
 * @typedef {{ sku: string, quantity: number, unitPriceCents: number }} ApiOrderItem
 */

/**
 * What a 409 to an order refused: too little stock, or a chosen product's price changed since
 * the client showed it. Both are expected outcomes under load, not service errors.
 * @typedef {'out-of-stock' | 'price-changed'} Refusal
 */

/**
 * The fields a browser posts from the order form `form` (parsed from GET /): a `qty-<SKU>` for
 * every product offered (its units in `quantities`, empty for one not chosen, as the page leaves it), the `price-<SKU>`
 * the page showed for every product (hidden inputs, so sold-out products' too), the customer
 * and the form's key. The service holds a chosen product to the price sent.
 * @param {OrderForm} form
 * @param {Record<string, number>} quantities units of each chosen SKU, spelled as the page does
 * @param {Customer} customer
 * @returns {Record<string, string>} field name -> value, for k6 to urlencode
 */
export function orderFormFields(form, quantities, customer) {
  /** @type {Record<string, string>} */
  const fields = {}
  for (const sku of form.skus) fields[`qty-${sku}`] = quantities[sku] ? String(quantities[sku]) : ''
  for (const sku of Object.keys(form.prices)) fields[`price-${sku}`] = form.prices[sku] || ''
  return Object.assign(fields, {
    name: customer.name,
    email: customer.email,
    address: customer.address,
    city: customer.city,
    state: customer.state,
    zip: customer.zip,
    idempotencyKey: form.idempotencyKey || '',
  })
}

/**
 * What a 409 to the order form refused, read off the form it comes back with (the catalogue as
 * it is then): a price change when that page shows a chosen product (a quantity above 0 in
 * `sent`) at another price than `sent` held; else too little stock, the form's only other 409.
 * A refusal for stock while a chosen price changed too reads as a price change.
 * @param {Record<string, string>} sent the fields posted (orderFormFields)
 * @param {string} html the 409's page
 * @returns {Refusal}
 */
export function formRefusal(sent, html) {
  const now = parseOrderForm(html).prices
  for (const name of Object.keys(sent)) {
    const m = QUANTITY_FIELD_RE.exec(name)
    const sku = m ? m[1] : undefined
    if (sku === undefined || !(Number(sent[name]) > 0)) continue
    const shown = sent[`price-${sku}`]
    if (shown !== undefined && now[sku] !== undefined && now[sku] !== shown) return 'price-changed'
  }
  return 'out-of-stock'
}

/**
 * The items of an API order for `chosen` products as GET /api/products listed them, each held
 * to the price listed (`unitPriceCents`, cents), as a client showing those prices sends them.
 * @param {ReadonlyArray<Product>} chosen
 * @param {(product: Product) => number} quantityOf the units of one product
 * @returns {ApiOrderItem[]}
 */
export function apiOrderItems(chosen, quantityOf) {
  return chosen.map((p) => ({ sku: p.sku, quantity: quantityOf(p), unitPriceCents: p.priceCents }))
}

/**
 * What a 409 to POST /api/orders refused, from its problem body (RFC 9457): its `type` ends in
 * the kind, `price-changed` or `out-of-stock` (anything else reads as the latter).
 * @param {unknown} problem the parsed body
 * @returns {Refusal}
 */
export function apiRefusal(problem) {
  const type = problem !== null && typeof problem === 'object' ? Object(problem).type : undefined
  const changed = typeof type === 'string' && /\/price-changed$/.test(type)
  return changed ? 'price-changed' : 'out-of-stock'
}
