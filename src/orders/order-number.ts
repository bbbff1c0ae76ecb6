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

/** 50 random bits from the CSPRNG as `XXXXX-XXXXX`: not sequential, not guessable. */
export function newOrderNumber(): string {
  const [low = 0, high = 0] = randomFillSync(new Uint32Array(2))
  return encodeOrderNumber(low, high)
}

export const orderNumberPattern = '^[0-9A-Za-z]{5}-?[0-9A-Za-z]{5}$'

/** Canonical form of a typed-in number: upper case, dash, and Crockford's look-alikes mapped. */
export function normalizeOrderNumber(input: string): string {
  const s = input.toUpperCase().replaceAll('-', '').replace(/[IL]/g, '1').replaceAll('O', '0')
  return `${s.slice(0, 5)}-${s.slice(5)}`
}
