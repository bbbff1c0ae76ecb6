import { randomBytes } from 'node:crypto'

/**
 * A new endpoint signing secret in the Standard Webhooks format: `whsec_` + base64 of 32 random
 * bytes (the spec allows 24 to 64; 32 is the HMAC-SHA256 block's half and what Svix issues).
 * Shown once to the admin (create, rotate), kept in clear to sign, never logged.
 */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`
}
