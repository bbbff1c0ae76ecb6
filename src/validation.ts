import type { FastifySchemaValidationError } from 'fastify/types/schema.js'

/** `/items/0/quantity` -> `items[0].quantity`, the way a person reads a field name. */
export function fieldName(error: FastifySchemaValidationError): string {
  const parts = error.instancePath.split('/').filter(Boolean)
  const missing = (error.params as { missingProperty?: string }).missingProperty
  if (error.keyword === 'required' && missing) parts.push(missing)
  return parts.reduce(
    (name, p) => (/^\d+$/.test(p) ? `${name}[${p}]` : name ? `${name}.${p}` : p),
    '',
  )
}

// A key is the sender's text: a field name is rarely longer, and a message stays short.
const maxKeyShown = 40

/**
 * A key the sender sent, as the message names it: JSON-quoted (so quotes and control characters
 * are escaped), its first 40 code points and `…` when longer (`"giftNote"`).
 */
function quotedKey(key: string): string {
  const points = Array.from(key)
  return JSON.stringify(
    points.length > maxKeyShown ? `${points.slice(0, maxKeyShown).join('')}…` : key,
  )
}

/** A sentence about one invalid value; schemas may give their own in `errorMessage`. */
export function describe(error: FastifySchemaValidationError): string {
  const custom = (error as { parentSchema?: { errorMessage?: string } }).parentSchema?.errorMessage
  if (custom && error.keyword !== 'required') return custom
  switch (error.keyword) {
    case 'required':
      return 'is required'
    case 'additionalProperties':
      return `has an unknown field ${quotedKey((error.params as { additionalProperty: string }).additionalProperty)}`
    default:
      return error.message ?? 'is invalid'
  }
}

// A 60 KiB body of empty items yields some 12,000 errors: past this many, a person reads no
// further, and listing them all answered 60 KiB with 375 KiB.
const maxListed = 10

/** Fastify's schemaErrorFormatter: one message naming the bad fields (the first ten). */
export function formatSchemaErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const seen = new Set<string>()
  const parts: string[] = []
  for (const e of errors) {
    const name = fieldName(e)
    const text = `${name || dataVar} ${describe(e)}`
    if (!seen.has(text)) parts.push(text)
    seen.add(text)
  }
  const more = parts.length - maxListed
  if (more <= 0) return new Error(parts.join('; '))
  return new Error(
    `${parts.slice(0, maxListed).join('; ')}; and ${more} more problem${more === 1 ? '' : 's'}`,
  )
}
