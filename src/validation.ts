import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import { type TSchema, Type } from 'typebox'
import { emailRule, emailSentence } from './email.ts'
import { characterCount, isTextLengthSentence, longerAsStored, typedCount } from './text.ts'

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

// How every schema is compiled: its own module, so that src/email.ts can compile with it too.
export { ajvOptions } from './ajv-options.ts'

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
export function quotedKey(key: string): string {
  const points = Array.from(key)
  return JSON.stringify(
    points.length > maxKeyShown ? `${points.slice(0, maxKeyShown).join('')}…` : key,
  )
}

interface SchemaLike {
  type?: string | string[]
  enum?: unknown[]
  items?: SchemaLike
  anyOf?: SchemaLike[]
  properties?: Record<string, unknown>
}

/** What a schema takes, as a noun phrase ("text", "a list of text", "one of: a, b"). */
function takes(schema: SchemaLike | undefined): string {
  if (!schema) return 'a value'
  if (schema.enum) return `one of: ${schema.enum.join(', ')}`
  if (schema.anyOf) return schema.anyOf.map(takes).join(' or ')
  switch (schema.type) {
    case 'string':
      return 'text'
    case 'integer':
      return 'a whole number'
    case 'number':
      return 'a number'
    case 'boolean':
      return 'true or false'
    case 'object':
      return 'an object'
    case 'array':
      return schema.items ? `a list of ${takes(schema.items).replace(/^an? /, '')}` : 'a list'
    case 'null':
      return 'null'
    default:
      return 'a value'
  }
}

const givenMoreThanOnce = Symbol('given more than once')

/**
 * `values`, marked as one field's values given more than once (a form's `name=Ada&name=Bob`, as
 * the form parser reads it), so that a schema wanting one value says "must be given once" rather
 * than its sentence for a wrong value: a list in JSON is a wrong value, a repeated field is not.
 */
export function givenTwice(values: string[]): string[] {
  return Object.defineProperty(values, givenMoreThanOnce, { value: true })
}

/**
 * A value given more than once where the schema takes one: a list in a query string or among
 * headers (whose values are text), or one `givenTwice` marked. Not a branch of an `anyOf` (a
 * form's checkboxes, "text or a list of text"): that a list is wrong there is the union's to say.
 */
function repeatedParameter(error: FastifySchemaValidationError, context?: string): boolean {
  const data = (error as { data?: unknown }).data
  return (
    error.keyword === 'type' &&
    Array.isArray(data) &&
    !error.schemaPath.includes('/anyOf/') &&
    (context === 'querystring' || context === 'headers' || givenMoreThanOnce in data)
  )
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/**
 * The sentence for every Ajv keyword the service's schemas use, in one place: no Ajv wording
 * ("must NOT have fewer than 1 properties", "must match a schema in anyOf", "must be string")
 * reaches a client.
 */
function plainSentence(error: FastifySchemaValidationError): string {
  const params = error.params as Record<string, unknown>
  const parent = (error as { parentSchema?: SchemaLike }).parentSchema
  const limit = Number(params.limit)
  switch (error.keyword) {
    case 'required':
      return 'is required'
    // StringEnum's lists (and any other enum).
    case 'enum':
      return `must be one of: ${(params.allowedValues as unknown[]).join(', ')}`
    case 'additionalProperties':
      return `has an unknown field ${quotedKey(params.additionalProperty as string)}`
    case 'minProperties':
      return `must name at least one of: ${Object.keys(parent?.properties ?? {})
        .filter((k) => k !== '_csrf')
        .join(', ')}`
    case 'maxProperties':
      return `must have at most ${plural(limit, 'field', 'fields')}`
    case 'minItems':
      return limit === 1 ? 'must list at least one entry' : `must list at least ${limit} entries`
    case 'maxItems':
      return `must list at most ${plural(limit, 'entry', 'entries')}`
    case 'uniqueItems':
      return `must not list the same value twice (entries ${Math.min(Number(params.i), Number(params.j))} and ${Math.max(Number(params.i), Number(params.j))} are the same)`
    case 'minLength':
      return limit === 1
        ? 'must not be empty'
        : `must be at least ${plural(limit, 'character', 'characters')} long`
    case 'maxLength':
      return `must be at most ${plural(limit, 'character', 'characters')} long`
    case 'minimum':
      return `must be at least ${params.limit}`
    case 'maximum':
      return `must be at most ${params.limit}`
    case 'exclusiveMinimum':
      return `must be more than ${params.limit}`
    case 'exclusiveMaximum':
      return `must be less than ${params.limit}`
    case 'pattern':
      return 'is not in the form this field takes'
    case 'format':
      return `must be a valid ${params.format}`
    case 'const':
      return `must be ${JSON.stringify(params.allowedValue)}`
    case 'type':
      return `must be ${takes({ type: params.type as string })}`
    case 'anyOf':
      return `must be ${takes(parent)}`
    // A string no database stores, a form field that is not text (src/input-guards.ts).
    case 'storable':
    case 'text':
      return error.message ?? 'is invalid'
    default:
      return 'is invalid'
  }
}

/** A `maxLength` error markTypedLengths marked: the characters typed, within the limit. */
type TypedLength = { typedCharacters?: number }

/**
 * Marks each `maxLength` error of `errors` (a schema's errors, `root` the value it checked: the
 * body) whose value fitted the limit as typed and is over it only in NFC (text.ts, typedCount),
 * so that describe says so rather than "of 1 to 100 characters" to someone who typed 34. Returns
 * whether it marked any.
 */
export function markTypedLengths(
  errors: readonly FastifySchemaValidationError[] | undefined,
  root: unknown,
): boolean {
  let marked = false
  for (const error of errors ?? []) {
    if (error.keyword !== 'maxLength') continue
    const typed = typedCount(root, error.instancePath)
    if (typed === undefined || typed > Number((error.params as { limit?: unknown }).limit)) continue
    ;(error as TypedLength).typedCharacters = typed
    marked = true
  }
  return marked
}

/**
 * A sentence about one invalid value; schemas may give their own in `errorMessage`. A value
 * given more than once (`?status=a&status=b`, a form's `name=Ada&name=Bob`, two Idempotency-Key
 * headers) "must be given once", whatever the schema's sentence.
 */
export function describe(error: FastifySchemaValidationError, context?: string): string {
  // Before the field's own sentence: the value may be fine, just sent twice.
  if (repeatedParameter(error, context)) return 'must be given once'
  const custom = (error as { parentSchema?: { errorMessage?: string } }).parentSchema?.errorMessage
  // The order's e-mail: the sentence for what is wrong with this address, not every rule at once.
  const data = (error as { data?: unknown }).data
  if (custom === emailRule && typeof data === 'string') return emailSentence(data)
  // A free-text field's sentence is about text's length; `5` or `null` is of the wrong type.
  if (custom && error.keyword === 'type' && isTextLengthSentence(custom))
    return plainSentence(error)
  const typed = (error as TypedLength).typedCharacters
  if (custom && typed !== undefined && isTextLengthSentence(custom)) {
    return longerAsStored(custom, typed, characterCount(String(data)))
  }
  // Over the limit as typed too: how far over, so the shopper knows how much to cut.
  if (custom && error.keyword === 'maxLength' && isTextLengthSentence(custom))
    return `${custom}: it has ${characterCount(String(data))}`
  if (custom && error.keyword !== 'required') return custom
  return plainSentence(error)
}

/**
 * The errors worth a sentence: an `anyOf` that failed is one problem ("must be text or a list
 * of text"), not one per branch tried, so the errors Ajv found inside its branches are dropped;
 * a query parameter given twice is that one problem ("must be given once"), not also every
 * other keyword its list fails.
 */
export function significant(
  errors: readonly FastifySchemaValidationError[],
  context?: string,
): FastifySchemaValidationError[] {
  const unions = errors.filter((e) => e.keyword === 'anyOf')
  const repeated = new Set(
    errors.filter((e) => repeatedParameter(e, context)).map((e) => e.instancePath),
  )
  return errors.filter(
    (e) =>
      (e.keyword === 'anyOf' ||
        !unions.some(
          (u) =>
            e.schemaPath.startsWith(`${u.schemaPath}/`) &&
            e.instancePath.startsWith(u.instancePath),
        )) &&
      (!repeated.has(e.instancePath) || repeatedParameter(e, context)),
  )
}

// A 60 KiB body of empty items yields some 12,000 errors: past this many, a person reads no
// further, and listing them all answered 60 KiB with 375 KiB.
const maxListed = 10

/** Fastify's schemaErrorFormatter: one message naming the bad fields (the first ten). */
export function formatSchemaErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const seen = new Set<string>()
  const parts: string[] = []
  for (const e of significant(errors, dataVar)) {
    const name = fieldName(e)
    const text = `${name || dataVar} ${describe(e, dataVar)}`
    if (!seen.has(text)) parts.push(text)
    seen.add(text)
  }
  const more = parts.length - maxListed
  if (more <= 0) return new Error(parts.join('; '))
  return new Error(
    `${parts.slice(0, maxListed).join('; ')}; and ${more} more problem${more === 1 ? '' : 's'}`,
  )
}
