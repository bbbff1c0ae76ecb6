import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * 32 random bytes as base64url (43 characters): a session's cookie value, a CSRF secret, an API
 * token. 256 bits: never guessed, so one SHA-256 (no salt, no stretching) is enough to store it.
 */
export const newSecret = (): string => randomBytes(32).toString('base64url')

/** SHA-256 of a secret as hex: what the database keeps of a session id or a token. */
export const digest = (secret: string): string => createHash('sha256').update(secret).digest('hex')

/** A value shaped like newSecret's; anything else is refused before any lookup. */
export const looksLikeSecret = (value: string | undefined): value is string =>
  value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value)

/**
 * Whether `given` is the string `expected`, compared in constant time (a CSRF token or a secret
 * kept in clear must not leak byte by byte); false for anything but a string. Only the length
 * may show, and every secret compared this way has a fixed one.
 */
export function sameSecret(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}
