import type { FastifyRequest } from 'fastify'
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import { type TSchema, Type } from 'typebox'

/**
 * One of a fixed list of strings (a role, an event type, a setting's value): a JSON Schema
 * string `enum`, typed as the union of the values. Never a `Type.Union` of `Type.Literal`s: Ajv
 * checks that as an `anyOf` and reports "must be equal to constant" per value plus "must match a
 * schema in anyOf"; an `enum` fails once, and `describe` words it "must be one of: a, b".
 */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: Record<string, unknown> = {},
) {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] } as TSchema)
}

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
    // StringEnum's lists (and any other enum).
    case 'enum':
      return `must be one of: ${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
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

/**
 * Why PostgreSQL cannot store `text` as sent, or undefined when it can: its `text` holds no
 * U+0000 ("invalid byte sequence for encoding "UTF8": 0x00", a 500), and UTF-8 has no lone
 * surrogate (JSON's `"\ud800"`; the driver would write U+FFFD, another string than the one sent).
 */
export function unstorable(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain a NUL character (U+0000)'
  if (!text.isWellFormed()) return 'must not contain half a character (a lone UTF-16 surrogate)'
  return undefined
}

/** `a/b` -> `a~1b`: a key as a JSON Pointer segment (RFC 6901). */
const pointerSegment = (key: string | number) =>
  String(key).replaceAll('~', '~0').replaceAll('/', '~1')

/**
 * Every string in a parsed input (path parameters, query or body: strings, arrays and objects
 * at any depth) that cannot be stored as sent, as the validation errors Ajv would give, each
 * pointing at its value (`/description`, `/eventTypes/0`). Keys are not checked: no route
 * stores one.
 */
export function unstorableStrings(value: unknown, at = ''): FastifySchemaValidationError[] {
  if (typeof value === 'string') {
    const message = unstorable(value)
    return message
      ? [{ keyword: 'storable', instancePath: at, schemaPath: '#', params: {}, message }]
      : []
  }
  if (!value || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([key, item]) =>
    unstorableStrings(item, `${at}/${pointerSegment(key)}`),
  )
}

/**
 * A preValidation hook: refuses a request whose path parameters, query or body hold a string
 * that cannot be stored as sent (see `unstorable`), with the error Fastify's own validation
 * makes (400, `validation`, `validationContext`), so the error handler answers it like any
 * refused field: the message names the field, problem details point at it. Before the schema,
 * so that every route gets it whatever its schema says (src/staff/access.ts attaches it to every
 * back-office route).
 */
export async function refuseUnstorableInput(request: FastifyRequest): Promise<void> {
  for (const [context, value] of [
    ['params', request.params],
    ['querystring', request.query],
    ['body', request.body],
  ] as const) {
    const errors = unstorableStrings(value)
    if (errors.length === 0) continue
    throw Object.assign(formatSchemaErrors(errors, context), {
      statusCode: 400,
      code: 'FST_ERR_VALIDATION',
      validation: errors,
      validationContext: context,
    })
  }
}
