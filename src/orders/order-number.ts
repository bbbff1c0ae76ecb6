import { randomFillSync } from 'node:crypto'

// Crockford base32: no I, L, O or U, so numbers read aloud or retyped survive.
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** Five characters for the low 25 bits of `word`, least significant first. */
function fiveChars(word: number): string {
  let s = ''
  for (let c = 0, bits = word & 0x1ffffff; c < 5; c++, bits >>>= 5) s += alphabet[bits & 31]
  return s
}

/**
 * `XXXXX-XXXXX` for the 50 bits in the low 25 bits of two 32-bit words (higher bits ignored):
 * the one encoding of order numbers, shared with the bulk loader (scripts/seed-orders.ts).
 */
export function encodeOrderNumber(low: number, high: number): string {
  return `${fiveChars(low)}-${fiveChars(high)}`
}

// Drawn 8 KiB at a time, as node:crypto's randomUUID buffers its own: one call into the CSPRNG
// per order cost 3% of a worker's CPU while placing orders (docs/benchmarks.md, stop 16).
const randomWords = new Uint32Array(2048)
let nextWord = randomWords.length

/** 50 random bits from the CSPRNG as `XXXXX-XXXXX`: not sequential, not guessable. */
export function newOrderNumber(): string {
  if (nextWord === randomWords.length) {
    randomFillSync(randomWords)
    nextWord = 0
  }
  const low = randomWords[nextWord++] ?? 0
  const high = randomWords[nextWord++] ?? 0
  return encodeOrderNumber(low, high)
}

/**
 * The dashes a number may be typed or pasted with: ASCII's, and the hyphens and dashes word
 * processors and mail clients put in its place (U+2010 hyphen, U+2011 non-breaking hyphen,
 * U+2012 figure dash, U+2013 en dash, U+2014 em dash, U+2212 minus sign; Unicode's Pd and Sm
 * look-alikes of U+002D), so a number copied from a rendered e-mail still finds its order.
 */
const dashes = '-\u2010-\u2014\u2212'
const anyDash = new RegExp(`[${dashes}]`, 'g')

export const orderNumberPattern = `^[0-9A-Za-z]{5}[${dashes}]?[0-9A-Za-z]{5}$`

const orderNumberShape = new RegExp(orderNumberPattern)

/**
 * Punctuation a number or its link picks up from the sentence around it when copied or
 * linkified ("your order 7K3QX-M2ZPA.", `<…/orders/7K3QX-M2ZPA>`, "(7K3QX-M2ZPA)"): never part
 * of a number, so dropped at either end, as blanks are (a shopper's review found `…/7K3QX-M2ZPA.`
 * answered "We could not find order 7K3QX-M2ZPA..").
 */
const wrapping = /^[\s("'<[{\u201C\u2018\u00AB]+|[\s.,;:!?)"'>\]}\u201D\u2019\u00BB]+$/gu

/**
 * The canonical number `typed` names (trimmed of blanks and of the punctuation around it, then
 * normalizeOrderNumber), or undefined when it has not an order number's shape
 * (orderNumberPattern: ten characters, at most one dash between the fifth and sixth), so that no
 * statement is run for it. The one reading of a typed number for every route and list that takes
 * one: `V-5-1-B-W-E-M-S-G-A` is no number anywhere.
 */
export function parseOrderNumber(typed: string): string | undefined {
  const trimmed = typed.replace(wrapping, '')
  return orderNumberShape.test(trimmed) ? normalizeOrderNumber(trimmed) : undefined
}

/** A number already in canonical form: upper case, with its dash, without I, L or O. */
const canonical = /^[0-9A-HJKMNP-Z]{5}-[0-9A-HJKMNP-Z]{5}$/

/**
 * The 404 sentence for an order number that names no order, echoing it as sent (trimmed), never
 * as normalizeOrderNumber rewrote it: `xx` is not `XX-` (a newcomer's review).
 */
export const unknownOrder = (typed: string) =>
  typed.trim() === ''
    ? 'There is no order with a blank number.'
    : `There is no order ${typed.trim()}.`

/**
 * Canonical form of a typed-in number: upper case, an ASCII dash (for any of `dashes`), and
 * Crockford's look-alikes mapped.
 */
function normalizeOrderNumber(input: string): string {
  // Most numbers arrive as they were handed out (links, the API): nothing to rewrite.
  if (canonical.test(input)) return input
  const s = input.toUpperCase().replace(anyDash, '').replace(/[IL]/g, '1').replaceAll('O', '0')
  return `${s.slice(0, 5)}-${s.slice(5)}`
}
