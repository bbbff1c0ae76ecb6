import { randomBytes } from 'node:crypto'

// Crockford base32: no I, L, O or U, so numbers read aloud or retyped survive.
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** 50 random bits from the CSPRNG as `XXXXX-XXXXX`: not sequential, not guessable. */
export function newOrderNumber(): string {
  const bytes = randomBytes(7)
  let bits = 0n
  for (const b of bytes) bits = (bits << 8n) | BigInt(b)
  let out = ''
  for (let i = 0; i < 10; i++) {
    out += alphabet[Number(bits & 31n)]
    bits >>= 5n
  }
  return `${out.slice(0, 5)}-${out.slice(5)}`
}

export const orderNumberPattern = '^[0-9A-Za-z]{5}-?[0-9A-Za-z]{5}$'

/** Canonical form of a typed-in number: upper case, dash, and Crockford's look-alikes mapped. */
export function normalizeOrderNumber(input: string): string {
  const s = input.toUpperCase().replaceAll('-', '').replace(/[IL]/g, '1').replaceAll('O', '0')
  return `${s.slice(0, 5)}-${s.slice(5)}`
}
