/**
 * The key of a row in the order list, newest first: its creation time with PostgreSQL's
 * microseconds (a JavaScript Date keeps only milliseconds, and orders placed together share
 * one created_at) and its id (bigint, as decimal text). The next page starts after it.
 */
export interface ListKey {
  /** `2026-11-29T11:16:32.123456Z` (UTC, six fractional digits). */
  createdAt: string
  /** `123` */
  id: string
}

const keyTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/
const keyId = /^[1-9][0-9]{0,18}$/
const maxBigint = 9223372036854775807n

/**
 * The longest cursor any list takes (`cursor`, `before`), the same on every list: well over any
 * it makes (about 70 characters: an order list's key, a delivery's endpoint and id), and bounded.
 * A longer one that is not blank is refused by the page parameters' rule (page-query.ts), with
 * damagedLink, not by a schema's maxLength: a blank one of any length is a cursor not given.
 */
export const maxCursorLength = 200
const cursorText = new RegExp(`^[A-Za-z0-9_-]{1,${maxCursorLength}}$`)

/** What a page link (a cursor) that is malformed, of another list or out of date is told. */
export const damagedLink =
  'This page link is damaged or out of date; start again from the first page.'

/** A key as the opaque cursor the pages and the API hand out: base64url of `[createdAt, id]`. */
export function encodeCursor(key: ListKey): string {
  return Buffer.from(JSON.stringify([key.createdAt, key.id])).toString('base64url')
}

/**
 * Whether `t` names an instant that exists (no 2026-02-30 or 25:00), as PostgreSQL would read it:
 * not in year 0000 either, which JavaScript reads as 1 BC and PostgreSQL refuses (it counts
 * 1 BC, then 1 AD).
 */
function realInstant(t: string): boolean {
  const date = new Date(t)
  return (
    !t.startsWith('0000') &&
    !Number.isNaN(date.getTime()) &&
    date.toISOString().slice(0, 19) === t.slice(0, 19)
  )
}

/**
 * The key a cursor holds, or undefined when it is malformed (tampered, truncated, another
 * encoding, no real instant) or of another list: the routes answer that with 400, never by
 * passing it on to PostgreSQL to fail there. A well-formed key no page handed out is a place in
 * the list like any other (keyset; cursors are not signed).
 */
export function decodeCursor(cursor: string): ListKey | undefined {
  const value = cursorJson(cursor)
  if (!Array.isArray(value) || value.length !== 2) return undefined
  const [createdAt, id] = value
  if (typeof createdAt !== 'string' || !keyTime.test(createdAt) || !realInstant(createdAt)) {
    return undefined
  }
  return isBigintId(id) ? { createdAt, id } : undefined
}

/** The JSON value an opaque cursor (base64url of JSON text) holds; undefined when it is none. */
export function cursorJson(cursor: string): unknown {
  if (!cursorText.test(cursor)) return undefined
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
}

/** Whether `id` is a bigint row id as decimal text, 1 to 2^63 - 1 (`123`). */
export const isBigintId = (id: unknown): id is string =>
  typeof id === 'string' && keyId.test(id) && BigInt(id) <= maxBigint
