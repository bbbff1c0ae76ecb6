import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { damagedLink, maxCursorLength } from './cursor.ts'

/**
 * The one rule every paginated list reads its page parameters by: the order list (the JSON API
 * and the page: `cursor`, and the page's `before`) and an endpoint's deliveries (the JSON API:
 * `cursor` and `limit`; the endpoint's page: `cursor`).
 * - A blank value (empty, or white space only: `cursor=`, `cursor=%20`, `limit=`) is a parameter
 *   not given: the first page, the default size. So is a blank one beside another value of the
 *   same parameter (`cursor=&cursor=…` is `cursor=…`: blankRepeatsDropped).
 * - Any other value is read as sent, never trimmed.
 * - A cursor must be one of this list: a malformed one, one with spaces around it, one longer
 *   than maxCursorLength or one of another list (the order list's, another endpoint's
 *   deliveries') is refused (400 naming the parameter, damagedLink), never ignored. A
 *   well-formed one of this list is a position in it (keyset), whether or not an answer handed
 *   it out: the page after it. Cursors are not signed.
 * - A limit is decimal digits, leading zeros allowed (`01` is 1), from 1 to the list's page size;
 *   anything else (`0`, `51`, `1.0`, `+5` (a space and 5 in a query), `%2B5`, `-1`, `1e1`, `abc`)
 *   is refused (400 "limit must be a whole number from 1 to 50").
 */

/** A page parameter as sent, or undefined when it is not given: absent or blank. */
export const givenValue = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value

export type PageParameter<T> =
  | { ok: true; value: T | undefined }
  | { ok: false; message: string; detail: string }

/**
 * A cursor parameter: undefined when not given, the key `decode` finds in it, or a refusal when
 * it is longer than maxCursorLength or `decode` finds none (malformed, or of another list).
 */
export function readCursor<K>(
  value: string | undefined,
  decode: (cursor: string) => K | undefined,
): PageParameter<K> {
  const cursor = givenValue(value)
  if (cursor === undefined) return { ok: true, value: undefined }
  const key = cursor.length > maxCursorLength ? undefined : decode(cursor)
  return key === undefined
    ? { ok: false, message: damagedLink, detail: damagedLink }
    : { ok: true, value: key }
}

/**
 * What a cursor parameter's description says of the rule: blank, malformed, too long, another
 * list's (`others`: which those are).
 */
export const cursorRule = (name: string, others: string) =>
  `none or blank (empty or white space only, of any length) for the first page; a malformed one, one longer than ${maxCursorLength} characters or one of another list (${others}) is refused (400 naming \`${name}\`: "${damagedLink}")`

/**
 * The schema of a cursor parameter (`cursor`, `before`), one for every list: text, as sent.
 * No maxLength: a blank value is not given however long it is (within the request's own limit,
 * 16 KiB of address and headers), and one longer than maxCursorLength that is not blank gets
 * the rule's sentence (readCursor), not a schema's.
 */
export const CursorParameter = (description: string) => Type.Optional(Type.String({ description }))

const digits = /^[0-9]+$/

/** What a `limit` outside the rule is told: its name and its range. */
export const limitRange = (max: number) => `must be a whole number from 1 to ${max}`

/** A `limit` parameter: undefined when not given, the number, or a refusal naming the range. */
export function readLimit(value: string | undefined, max: number): PageParameter<number> {
  const limit = givenValue(value)
  if (limit === undefined) return { ok: true, value: undefined }
  // Digits only: Number() alone would take ` 5`, `+5`, `1.0`, `1e1` and `0x10`.
  const n = digits.test(limit) ? Number(limit) : Number.NaN
  if (n >= 1 && n <= max) return { ok: true, value: n }
  const detail = limitRange(max)
  return { ok: false, message: `limit ${detail}`, detail }
}

/**
 * A preValidation hook of a list's routes: each of `names` given more than once is read without
 * its blank values, as a blank one alone is not given (a GET form sends every field; a link may
 * add one): `cursor=&cursor=abc` is `cursor=abc`, `state=&state=` not given. Two values that are
 * not blank stay a list, which the schema refuses ("cursor must be given once"). Other
 * parameters are left as sent (the strict routes refuse them by name, blank or not).
 */
export function blankRepeatsDropped(names: readonly string[]) {
  return async (request: FastifyRequest): Promise<void> => {
    const query = request.query as Record<string, unknown>
    for (const name of names) {
      const value = query[name]
      if (!Array.isArray(value)) continue
      const given = value.filter((v) => typeof v !== 'string' || v.trim() !== '')
      query[name] = given.length === 0 ? '' : given.length === 1 ? given[0] : given
    }
  }
}
