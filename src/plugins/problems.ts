import { STATUS_CODES } from 'node:http'
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import { Type } from 'typebox'
import { describe, significant } from '../validation.ts'

/**
 * RFC 9457 problem details, the body of every /api error: `type` (a URI naming the kind of
 * problem, stable: clients may switch on it), `title` (that kind's short summary), `status`,
 * `detail` (this occurrence, in a sentence), and for a refused body or query `errors`, one entry
 * per invalid value. Today's `statusCode`, `error` and `message` stay beside them, equal to
 * `status`, `title` and `detail`, so no client written against them breaks.
 */

/** The kinds of problem and their titles; each has the type `${problemBase}<kind>`. */
export const problemKinds = {
  validation: 'The request is invalid',
  'bad-request': 'Bad Request',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  'not-found': 'Not Found',
  'method-not-allowed': 'Method Not Allowed',
  conflict: 'Conflict',
  'out-of-stock': 'Not enough stock',
  'price-changed': 'Price changed',
  'precondition-failed': 'Precondition Failed',
  'body-too-large': 'Content Too Large',
  'uri-too-long': 'URI Too Long',
  'unsupported-media-type': 'Unsupported Media Type',
  'idempotency-key-reused': 'Idempotency-Key already used',
  'unprocessable-content': 'Unprocessable Content',
  'precondition-required': 'Precondition Required',
  'rate-limited': 'Too Many Requests',
  'headers-too-large': 'Request Header Fields Too Large',
  'internal-error': 'Internal Server Error',
  unavailable: 'Service Unavailable',
} as const

export type ProblemKind = keyof typeof problemKinds

/**
 * Type URIs are tag: URIs (RFC 4151): stable names that nobody has to host; docs/api.md, "Problem
 * details", says what each means.
 */
export const problemBase = 'tag:order-service.example,2026:problems/'

/** The kind a status has when the code that answers names none. */
const kindOfStatus: Record<number, ProblemKind> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  412: 'precondition-failed',
  413: 'body-too-large',
  414: 'uri-too-long',
  415: 'unsupported-media-type',
  422: 'unprocessable-content',
  428: 'precondition-required',
  429: 'rate-limited',
  431: 'headers-too-large',
  500: 'internal-error',
  503: 'unavailable',
}

/** One invalid value: where it is (a JSON Pointer into the body, or a parameter or header). */
export interface ProblemError {
  pointer?: string
  parameter?: string
  header?: string
  detail: string
}

export const ProblemErrorSchema = Type.Object({
  pointer: Type.Optional(
    Type.String({ description: 'JSON Pointer (RFC 6901) to the value in the request body' }),
  ),
  parameter: Type.Optional(Type.String({ description: 'the path or query parameter' })),
  header: Type.Optional(Type.String({ description: 'the request header' })),
  detail: Type.String(),
})

/** For `out-of-stock`: one short product and the units of it left when the order was refused. */
export interface ProblemAvailable {
  sku: string
  units: number
}

export const ProblemAvailableSchema = Type.Object({
  sku: Type.String(),
  units: Type.Integer({ minimum: 0, description: 'units left when the order was refused' }),
})

/** For `price-changed`: a product whose price is not the one the order expected, in cents. */
export interface ProblemPrice {
  sku: string
  expectedCents: number
  unitPriceCents: number
}

export const ProblemPriceSchema = Type.Object({
  sku: Type.String(),
  expectedCents: Type.Integer({ description: "the line's unitPriceCents, as sent" }),
  unitPriceCents: Type.Integer({ description: "the product's price when the order was refused" }),
})

/** The problem details body (RFC 9457) with the members clients read before it. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({
      format: 'uri',
      description: 'the kind of problem (see docs/api.md, "Problem details")',
    }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    errors: Type.Optional(Type.Array(ProblemErrorSchema)),
    available: Type.Optional(
      Type.Array(ProblemAvailableSchema, {
        description: 'out-of-stock only: each short product and how many units of it are left',
      }),
    ),
    prices: Type.Optional(
      Type.Array(ProblemPriceSchema, {
        description: 'price-changed only: each product whose price is not the one expected',
      }),
    ),
    statusCode: Type.Integer({ description: 'as status (kept for older clients)' }),
    error: Type.String({ description: 'the status phrase (kept for older clients)' }),
    message: Type.String({ description: 'as detail (kept for older clients)' }),
  },
  { title: 'Problem' },
)

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  errors?: ProblemError[]
  available?: ProblemAvailable[]
  prices?: ProblemPrice[]
  statusCode: number
  error: string
  message: string
}

/** What an answer adds to its status and sentence: its kind, and the members only some have. */
export interface ProblemExtra {
  kind?: ProblemKind
  errors?: ProblemError[]
  available?: ProblemAvailable[]
  prices?: ProblemPrice[]
}

/** The problem body for an answer of `status` with the sentence `detail`. */
export function problem(status: number, detail: string, extra: ProblemExtra = {}): Problem {
  const phrase = STATUS_CODES[status] ?? 'Error'
  const kind = extra.kind ?? kindOfStatus[status]
  return {
    type: kind ? `${problemBase}${kind}` : 'about:blank',
    title: kind ? problemKinds[kind] : phrase,
    status,
    detail,
    ...(extra.errors ? { errors: extra.errors } : {}),
    ...(extra.available ? { available: extra.available } : {}),
    ...(extra.prices ? { prices: extra.prices } : {}),
    statusCode: status,
    error: phrase,
    message: detail,
  }
}

/** `a/b` -> `a~1b`, `a~b` -> `a~0b`: a key as a JSON Pointer segment (RFC 6901). */
export const pointerSegment = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1')

// As many as the message names (validation.ts); a huge body must not make a huge answer.
const maxErrors = 10

/**
 * Ajv's errors as problem entries: body values by JSON Pointer (a missing or unknown field
 * points at where it is or would be), path and query values by parameter name, headers by name.
 */
export function validationErrors(
  errors: readonly FastifySchemaValidationError[],
  context: string | undefined,
): ProblemError[] {
  const seen = new Set<string>()
  const out: ProblemError[] = []
  for (const e of significant(errors, context)) {
    const params = e.params as { missingProperty?: string; additionalProperty?: string }
    const child =
      e.keyword === 'required'
        ? params.missingProperty
        : e.keyword === 'additionalProperties'
          ? params.additionalProperty
          : undefined
    const pointer =
      child === undefined ? e.instancePath : `${e.instancePath}/${pointerSegment(child)}`
    const detail = describe(e, context)
    let entry: ProblemError
    if (context === 'body' || context === undefined) entry = { pointer, detail }
    else {
      const name = pointer.split('/')[1]?.replaceAll('~1', '/').replaceAll('~0', '~') ?? ''
      entry = context === 'headers' ? { header: name, detail } : { parameter: name, detail }
    }
    const key = JSON.stringify(entry)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(entry)
    if (out.length === maxErrors) break
  }
  return out
}
