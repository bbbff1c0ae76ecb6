// Minimal, dependency-free parsing of the order form and redirect targets.
// Regex-based on purpose: cheaper than k6/html's DOM per iteration at high rates, and
// tolerant of attribute order, quoting style and self-closing tags.

/**
 * @typedef {object} OrderForm
 * @property {string[]} skus product SKUs offered: each enabled quantity input `qty-<SKU>` (sold-out
 *   and off-sale products are shown with a disabled one)
 * @property {Record<string, string>} prices each product's hidden `price-<SKU>` input, SKU (as the
 *   page spells it) to its value: the price shown, in cents. Every product's, sold-out ones too:
 *   a hidden input is never disabled, so a browser posts them all
 * @property {string | null} idempotencyKey value of the hidden `idempotencyKey` input
 * @property {string[]} states option values of the `state` select (empty if it is a text input)
 * @property {string | null} action the form's action attribute, if any
 */

/** A product's quantity field on the order form: `qty-<SKU>`. */
export const QUANTITY_FIELD_RE = /^qty-([A-Za-z0-9-]{1,32})$/
/** The price a product's hidden field showed, in cents: `price-<SKU>` (src/orders/schemas.ts). */
export const PRICE_FIELD_RE = /^price-([A-Za-z0-9-]{1,32})$/
const TAG_RE = /<\s*(\/?)\s*(input|select|option|form)\b([^>]*)>/gi
const ATTR_RE = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g

/**
 * Decodes the HTML entities a template engine emits in attribute values.
 * @param {string} text
 * @returns {string}
 */
export function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (whole, code) => {
    const c = String(code).toLowerCase()
    if (c === 'amp') return '&'
    if (c === 'lt') return '<'
    if (c === 'gt') return '>'
    if (c === 'quot') return '"'
    if (c === 'apos') return "'"
    if (c.startsWith('#x')) return String.fromCodePoint(Number.parseInt(c.slice(2), 16))
    if (c.startsWith('#')) return String.fromCodePoint(Number.parseInt(c.slice(1), 10))
    return whole
  })
}

/**
 * Parses the attributes of one tag. Keys are lower-cased; valueless attributes
 * (`disabled`, `checked`) map to ''.
 * @param {string} source text between the tag name and `>`
 * @returns {Record<string, string>}
 */
export function parseAttributes(source) {
  /** @type {Record<string, string>} */
  const attrs = {}
  ATTR_RE.lastIndex = 0
  for (let m = ATTR_RE.exec(source); m !== null; m = ATTR_RE.exec(source)) {
    const key = (m[1] || '').toLowerCase()
    if (key === '' || key in attrs) continue
    const value = m[2] !== undefined ? m[2] : m[3] !== undefined ? m[3] : m[4] || ''
    attrs[key] = decodeEntities(value)
  }
  return attrs
}

/**
 * @param {Record<string, string>} attrs
 * @param {string} key
 * @returns {boolean}
 */
function has(attrs, key) {
  // Values are always strings ('' for valueless attributes), so undefined means absent.
  return attrs[key] !== undefined
}

/**
 * Extracts what a shopper needs from the GET / page.
 * @param {string} html
 * @returns {OrderForm}
 */
export function parseOrderForm(html) {
  /** @type {string[]} */
  const skus = []
  /** @type {Record<string, string>} */
  const prices = {}
  /** @type {string[]} */
  const states = []
  /** @type {string | null} */
  let idempotencyKey = null
  /** @type {string | null} */
  let action = null
  /** @type {string | null} */
  let currentSelect = null
  let selectDisabled = false

  TAG_RE.lastIndex = 0
  for (let m = TAG_RE.exec(html); m !== null; m = TAG_RE.exec(html)) {
    const closing = m[1] === '/'
    const tag = (m[2] || '').toLowerCase()
    if (tag === 'select') {
      if (closing) {
        currentSelect = null
        selectDisabled = false
      } else {
        const attrs = parseAttributes(m[3] || '')
        currentSelect = attrs.name === undefined ? null : attrs.name
        selectDisabled = has(attrs, 'disabled')
      }
      continue
    }
    if (closing) continue
    const attrs = parseAttributes(m[3] || '')
    if (tag === 'form') {
      if (action === null && attrs.action !== undefined) action = attrs.action
      continue
    }
    if (tag === 'option') {
      const value = attrs.value
      if (value === undefined || value === '' || has(attrs, 'disabled') || selectDisabled) continue
      if (currentSelect === 'state' && states.indexOf(value) === -1) states.push(value)
      continue
    }
    // <input>
    const name = attrs.name || ''
    const quantityOf = QUANTITY_FIELD_RE.exec(name)
    const priceOf = PRICE_FIELD_RE.exec(name)
    if (name === 'idempotencyKey' && idempotencyKey === null && attrs.value) {
      idempotencyKey = attrs.value
    } else if (quantityOf && !has(attrs, 'disabled') && skus.indexOf(quantityOf[1] || '') === -1) {
      skus.push(quantityOf[1] || '')
    } else if (priceOf && !has(attrs, 'disabled') && attrs.value !== undefined) {
      prices[priceOf[1] || ''] = attrs.value
    }
  }
  return { skus, prices, idempotencyKey, states, action }
}

/**
 * The order number at the end of a `/orders/<orderNumber>` path or URL, or null.
 * @param {string | undefined | null} location
 * @returns {string | null}
 */
export function orderNumberFromLocation(location) {
  if (!location) return null
  const m = /\/orders\/([^/?#]+)\/?(?:[?#].*)?$/.exec(location)
  // No optional chaining: k6 v0.48 parses ECMAScript 2017 (test/k6-syntax.test.ts).
  const encoded = m ? m[1] : undefined
  if (!encoded) return null
  try {
    return decodeURIComponent(encoded)
  } catch (_err) {
    return encoded
  }
}

/**
 * Resolves a Location header against the base URL (absolute URLs pass through).
 * @param {string} baseUrl without trailing slash
 * @param {string} location
 * @returns {string}
 */
export function resolveLocation(baseUrl, location) {
  if (/^https?:\/\//i.test(location)) return location
  if (location.startsWith('/')) {
    const origin = /^https?:\/\/[^/]+/i.exec(baseUrl)
    return `${origin ? origin[0] : baseUrl}${location}`
  }
  return `${baseUrl}/${location}`
}

/** Crockford base32 groups separated by a dash, e.g. 7K3QX-M2ZPA. */
export const ORDER_NUMBER_RE = /^[0-9A-HJKMNP-TV-Z]+(?:-[0-9A-HJKMNP-TV-Z]+)+$/
