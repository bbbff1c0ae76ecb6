import { unstorable } from '../input-guards.ts'
import { statuses } from '../lifecycle/transitions.ts'
import { normaliseEmail } from '../orders/customer.ts'
import { parseOrderNumber } from '../orders/order-number.ts'
import { normaliseStateCode, usStates } from '../us-states.ts'
import { damagedLink, decodeCursor, type ListKey } from './cursor.ts'
import { blankRepeatsDropped, readCursor } from './page-query.ts'
import { givenTwiceSentence } from './refused-input.ts'

/**
 * What the order list is filtered by, each one optional, all of them together (AND):
 * - `status`: one of the lifecycle's statuses, canonical (`placed`);
 * - `state`: a USPS code, canonical (`TX`);
 * - `from`, `to`: days (UTC, `YYYY-MM-DD`), both included: `from` 00:00 up to the start of the
 *   day after `to`, as ISO instants;
 * - `orderNumber`: canonical (`7K3QX-M2ZPA`), or `email` (trimmed; matched in any case, as
 *   queries.ts folds both sides).
 */
export interface OrderFilters {
  status?: string
  state?: string
  /** ISO instant, included. */
  createdFrom?: string
  /** ISO instant, excluded. */
  createdBefore?: string
  orderNumber?: string
  email?: string
}

/** The list's query string as the pages, the CSV and the API take it: every value a string. */
export interface ListQuery {
  status?: string | undefined
  state?: string | undefined
  from?: string | undefined
  to?: string | undefined
  /** An order number (as typed: any case, with or without its dash, I/L/O for 1/0) or an e-mail. */
  q?: string | undefined
  cursor?: string | undefined
  /** The page's "Previous page": the orders just newer than this key (the page only). */
  before?: string | undefined
}

export type ParsedQuery =
  | { ok: true; filters: OrderFilters; after: ListKey | undefined; before: ListKey | undefined }
  | { ok: false; parameter: keyof ListQuery; message: string }

const day = /^\d{4}-\d{2}-\d{2}$/

/**
 * The days a date filter may name: `to` becomes the start of the next day, and an instant past
 * 9999-12-31 is written `+010000-…`, which PostgreSQL refuses ("time zone displacement out of
 * range"), so both ends stay well inside four-digit years. No order predates 1970.
 */
export const firstDay = '1970-01-01'
export const lastDay = '9998-12-31'

/**
 * `2026-11-29` as the instant its day starts (UTC), or undefined when it is not `YYYY-MM-DD`,
 * no real day, or outside firstDay..lastDay.
 */
function dayStart(text: string): Date | undefined {
  if (!day.test(text) || text < firstDay || text > lastDay) return undefined
  const date = new Date(`${text}T00:00:00Z`)
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text) ? date : undefined
}

/** The sentence for a date filter that is no day it takes, naming the field (`From`, `To`). */
const badDay = (field: string) =>
  `${field} must be a day written as YYYY-MM-DD, like 2026-11-29, from ${firstDay} to ${lastDay}.`

const searchRule = 'Search for an order number, like 7K3QX-M2ZPA, or an e-mail address.'

/** A blank form field is a filter not set (a GET form sends every field). */
const given = (value: string | undefined) => {
  const trimmed = value?.trim()
  return trimmed ? trimmed : undefined
}

/**
 * A status as typed, in its one canonical form (lower case, as the lifecycle names it: `PLACED`
 * and ` Placed ` are `placed`), like a state code's (docs/reliability.md, item 9); undefined when
 * blank. Whether it is a status at all is parseListQuery's to say.
 */
const canonicalStatus = (value: string | undefined) => given(value)?.toLowerCase()

/**
 * The query with its codes in their canonical form (status lower case, state upper case), for the
 * page to show and link what was filtered by (its select marks `placed` when `PLACED` was sent).
 */
export function canonicalListQuery(query: ListQuery): ListQuery {
  const state = given(query.state)
  return {
    ...query,
    status: canonicalStatus(query.status),
    state: state === undefined ? undefined : normaliseStateCode(state),
  }
}

/** The list's parameters, every one a filter or a page link (ListQuery). */
const listParameters = ['status', 'state', 'from', 'to', 'q', 'cursor', 'before'] as const

/**
 * A preValidation hook of the list's routes (the JSON API, the page, the CSV): a parameter given
 * more than once is read without its blank values, as a blank one alone is a filter not set (a
 * GET form sends every field; a link may add one): `state=TX&state=` is `state=TX`,
 * `state=&state=` no filter. Two values that are not blank stay a list, which the schema refuses,
 * "state must be given once". Other parameters are left as sent (the strict routes refuse them
 * by name, blank or not). The page parameters' rule (page-query.ts).
 */
export const dropBlankRepeats = blankRepeatsDropped(listParameters)

/** The search box: an e-mail when it holds an @, else an order number; undefined when neither. */
function search(q: string): Pick<OrderFilters, 'orderNumber' | 'email'> | undefined {
  if (q.includes('@')) return { email: normaliseEmail(q) }
  const orderNumber = parseOrderNumber(q)
  return orderNumber === undefined ? undefined : { orderNumber }
}

/**
 * Reads the list's query string into filters and the key to start after. Refuses (with the
 * sentence a person reads; the routes answer 400) an unknown status or state, a day that is not
 * `YYYY-MM-DD`, not a real day or outside firstDay..lastDay (the sentence names `From` or
 * `To`), `from` after `to`, a search that is neither an order number nor
 * an e-mail, and a cursor (`cursor`, `before`) that is malformed or of another list (a webhook
 * endpoint's deliveries), or both at once.
 */
export function parseListQuery(query: ListQuery): ParsedQuery {
  const filters: OrderFilters = {}
  const status = canonicalStatus(query.status)
  if (status !== undefined) {
    if (!(statuses as string[]).includes(status)) {
      return {
        ok: false,
        parameter: 'status',
        message: `Status must be one of ${statuses.join(', ')}.`,
      }
    }
    filters.status = status
  }
  const state = given(query.state)
  if (state !== undefined) {
    const code = normaliseStateCode(state)
    if (!usStates[code]) {
      return {
        ok: false,
        parameter: 'state',
        message: 'State must be one of the 50 states or DC, as its 2-letter code like CA.',
      }
    }
    filters.state = code
  }
  const from = given(query.from)
  const to = given(query.to)
  const fromDay = from === undefined ? undefined : dayStart(from)
  const toDay = to === undefined ? undefined : dayStart(to)
  if (from !== undefined && !fromDay)
    return { ok: false, parameter: 'from', message: badDay('From') }
  if (to !== undefined && !toDay) return { ok: false, parameter: 'to', message: badDay('To') }
  if (fromDay && toDay && fromDay > toDay) {
    return { ok: false, parameter: 'from', message: 'The first day comes after the last one.' }
  }
  if (fromDay) filters.createdFrom = fromDay.toISOString()
  if (toDay) filters.createdBefore = new Date(toDay.getTime() + 86_400_000).toISOString()
  const q = given(query.q)
  if (q !== undefined) {
    const found = search(q)
    if (!found) {
      return {
        ok: false,
        parameter: 'q',
        message: searchRule,
      }
    }
    Object.assign(filters, found)
  }
  // The page parameters' rule (page-query.ts): blank is not given, anything else as sent.
  const after = readCursor(query.cursor, decodeCursor)
  if (!after.ok) return { ok: false, parameter: 'cursor', message: after.message }
  const before = readCursor(query.before, decodeCursor)
  if (!before.ok) return { ok: false, parameter: 'before', message: before.message }
  // A page is after one key or before one, never both.
  if (before.value && after.value) {
    return { ok: false, parameter: 'before', message: damagedLink }
  }
  return { ok: true, filters, after: after.value, before: before.value }
}

/** The list page's fields by the words its sentences call them. */
const fieldWords: Record<(typeof listParameters)[number], string> = {
  q: 'The search',
  status: 'Status',
  state: 'State',
  from: 'From',
  to: 'To',
  cursor: 'The page link',
  before: 'The page link',
}

/**
 * The list page's answer to a query its schema refused (ListQuerystring: a parameter given twice
 * with two values, or longer than any value it takes) or that no database can store (a NUL:
 * input-guards.ts): the query to fill the form with, those
 * parameters left out, and one sentence a person reads, as parseListQuery's refusals are
 * (`Status was given twice: choose one.`; an over-long value gets its parameter's own sentence,
 * `Search for an order number, like 7K3QX-M2ZPA, or an e-mail address.`).
 */
export function refusedListQuery(query: Readonly<Record<string, unknown>>): {
  query: ListQuery
  message: string
} {
  const kept: ListQuery = {}
  let twice: string | undefined
  for (const name of listParameters) {
    const value = query[name]
    const cannotStore = typeof value === 'string' ? unstorable(value) : undefined
    if (cannotStore) twice ??= `${fieldWords[name]} ${cannotStore}.`
    else if (typeof value === 'string') kept[name] = value
    else if (value !== undefined) twice ??= givenTwiceSentence(fieldWords[name])
  }
  if (twice) return { query: kept, message: twice }
  const parsed = parseListQuery(kept)
  // What reads as a filter yet is over-long can only be an e-mail past 254 characters (RFC 5321).
  const refused = parsed.ok ? 'q' : parsed.parameter
  delete kept[refused]
  return {
    query: kept,
    message: parsed.ok ? `${searchRule.slice(0, -1)} of at most 254 characters.` : parsed.message,
  }
}

/** The filters as typed, for links to the next page and the CSV (no cursor, blanks left out). */
export function filterParams(query: ListQuery): URLSearchParams {
  const params = new URLSearchParams()
  for (const name of ['status', 'state', 'from', 'to', 'q'] as const) {
    const value = given(query[name])
    if (value !== undefined) params.set(name, value)
  }
  return params
}
