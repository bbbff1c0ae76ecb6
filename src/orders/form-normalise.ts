/** The order form's fields brought to one spelling before its schema checks them. */
import { normaliseFields } from '../text.ts'
import { givenTwice } from '../validation.ts'
import { customerNormalisers } from './customer.ts'
import { formPricePattern } from './schemas.ts'

/**
 * The order form's flat fields in their canonical spelling, in place, before the schema validates
 * them (as normaliseOrderBody does the API's body): the customer as the API's, the key in lower
 * case, each quantity trimmed (then it must be digits), and each product's field named `qty-` or
 * `price-` and its SKU in upper case, however typed (`QTY-mug-001`, `Price-MUG-001`): a field in
 * another case is never dropped unsaid.
 */
export function normaliseOrderForm(body: unknown): void {
  normaliseFields(body, customerNormalisers)
  if (!body || typeof body !== 'object') return
  const fields = body as Record<string, unknown>
  // A UUID has no case (RFC 9562 §4): `ACD8…` is the key `acd8…`, so one form placed again in
  // either case is one order (stored as `form:` and the lower-case key).
  const key = Object.hasOwn(fields, 'idempotencyKey') ? fields.idempotencyKey : undefined
  if (typeof key === 'string') fields.idempotencyKey = key.toLowerCase()
  let renamed: string[] | undefined
  // Whether the product fields pass OrderForm's patternProperties for sure (plainForms).
  let plain = true
  // for…in, not Object.entries: no array per field (the form has one per product). Prefixes
  // and characters compared, not patterns matched: this runs on every field of every order.
  for (const key in fields) {
    const exact = key.startsWith('qty-') ? 4 : key.startsWith('price-') ? 6 : 0
    const sku = exact || anyCasePrefix(key)
    if (sku === 0) continue
    const spelling = skuSpelling(key, sku)
    // Renamed below, or no SKU at all (`qty-MÜG`, `Price-`): the schema judges such a form.
    if (spelling !== 'upper' || exact === 0) plain = false
    if (spelling === 'none') continue
    if (spelling === 'lower' || exact === 0) {
      renamed ??= []
      renamed.push(key)
    }
    const value = Object.hasOwn(fields, key) ? fields[key] : undefined
    if (typeof value !== 'string') {
      plain = false
      continue
    }
    if (sku !== 4) {
      if (plain && !formPricePattern.test(value)) plain = false
      continue
    }
    const trimmed = value.trim()
    if (trimmed !== value) fields[key] = trimmed
    if (plain && !digitsOnly.test(trimmed)) plain = false
  }
  if (plain) plainForms.add(fields)
  // SKUs are codes (`qty-mug-001` is `qty-MUG-001`): one name per product's field, so a re-shown
  // form finds what was typed, the price goes with its quantity, and two spellings of one field
  // are one field given twice ("must be given once").
  for (const key of renamed ?? []) {
    const dash = key.indexOf('-') + 1
    const canonical = key.slice(0, dash).toLowerCase() + key.slice(dash).toUpperCase()
    const value = fields[key]
    delete fields[key]
    const had = Object.hasOwn(fields, canonical) ? fields[canonical] : undefined
    fields[canonical] = had === undefined ? value : givenTwice([had, value].flat() as string[])
  }
}

/**
 * The forms normaliseOrderForm left with plain product fields: every `qty-<SKU>` (SKU in upper
 * case) holding digits only, every `price-<SKU>` a price the page could have shown, and no field
 * named `qty-`/`price-` in another case, given twice or with a rest that is no SKU. Such a form
 * passes OrderForm's patternProperties for sure, so its validator (form-validator.ts) skips them;
 * a form not in here (any doubt, or not normalised) is checked against them. A WeakSet, so a
 * form is forgotten with its request.
 */
export const plainForms = new WeakSet<object>()
const digitsOnly = /^[0-9]*$/

/**
 * The length of `key`'s prefix when it is `qty-` or `price-` in another case (`QTY-`, `Price-`),
 * else 0. ASCII letters only: no other character is taken for one of them.
 */
function anyCasePrefix(key: string): number {
  const first = key.charCodeAt(0) | 0x20
  const prefix = first === 0x71 ? 'qty-' : first === 0x70 ? 'price-' : undefined
  if (prefix === undefined) return 0
  for (let i = 0; i < prefix.length; i++) {
    const c = key.charCodeAt(i)
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== prefix.charCodeAt(i)) return 0
  }
  return prefix.length
}

/**
 * Whether `key` from `from` on is a SKU as formQuantityKey and formPriceKey take one (1 to 32
 * of A-Z, a-z, 0-9 and `-`), and whether it has a lower-case letter (`lower`: named again in
 * upper case) or not (`upper`); `none` when it is no SKU.
 */
function skuSpelling(key: string, from: number): 'none' | 'upper' | 'lower' {
  const length = key.length - from
  if (length < 1 || length > 32) return 'none'
  let lower = false
  for (let i = from; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if (c >= 0x61 && c <= 0x7a) lower = true
    else if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d)) return 'none'
  }
  return lower ? 'lower' : 'upper'
}
