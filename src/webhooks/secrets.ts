import { randomBytes } from 'node:crypto'
import type { RevealKind } from '../staff/secret-reveal.ts'

/**
 * A new endpoint signing secret in the Standard Webhooks format: `whsec_` + base64 of 32 random
 * bytes (the spec allows 24 to 64; 32 is the HMAC-SHA256 block's half and what Svix issues).
 * Shown once to the admin (create, rotate), kept in clear to sign, never logged.
 */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`
}

/** A value shaped like newSigningSecret's (`whsec_` + 44 base64 characters). */
const looksLikeSigningSecret = (value: string) => /^whsec_[A-Za-z0-9+/]{43}=$/.test(value)

/**
 * A new signing secret's one showing on the endpoint's page, after the form that registered the
 * endpoint or rotated its secret (src/staff/secret-reveal.ts; the cookie's id is the endpoint's).
 */
export const signingSecretReveal: RevealKind = {
  cookie: 'webhook_new_secret',
  looksRight: looksLikeSigningSecret,
}
