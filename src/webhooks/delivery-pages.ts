import { cursorJson, isBigintId } from '../admin/cursor.ts'
import { readCursor, readLimit } from '../admin/page-query.ts'
import { recentDeliveryCount } from './deliveries.ts'

/**
 * Pages of an endpoint's deliveries for `GET /api/admin/webhooks/:id/deliveries`, newest first
 * (by id: a delivery made later has a larger one). A page ends at a delivery; the next one
 * starts after it (keyset, as the order list: src/admin/cursor.ts), so deliveries made in
 * between never shift a page or show one twice.
 */

/**
 * The opaque cursor of endpoint `endpoint`'s list after its delivery `id` (decimal text): base64url
 * of `["delivery", endpoint, id]`. It names the list it belongs to, so another endpoint's list
 * refuses it (400) rather than read its delivery id as a place in its own deliveries. A cursor
 * of the earlier form, `["delivery", id]`, which named no endpoint, is refused now, as any link
 * that is out of date.
 */
export const encodeDeliveryCursor = (endpoint: number, id: string): string =>
  Buffer.from(JSON.stringify(['delivery', endpoint, id])).toString('base64url')

/**
 * The delivery id a cursor of endpoint `endpoint`'s list holds, or undefined when it is none:
 * malformed, of the order list, or of another endpoint's deliveries. A well-formed one of this
 * list is a place in it (keyset), whether or not an answer handed it out.
 */
export function decodeDeliveryCursor(cursor: string, endpoint: number): string | undefined {
  const value = cursorJson(cursor)
  if (!Array.isArray(value) || value.length !== 3 || value[0] !== 'delivery') return undefined
  if (value[1] !== endpoint) return undefined
  return isBigintId(value[2]) ? value[2] : undefined
}

export type DeliveryPage =
  | { ok: true; limit: number; limitGiven: boolean; before: string | undefined }
  | { ok: false; parameter: 'cursor' | 'limit'; message: string; detail: string }

/**
 * The page of endpoint `endpoint`'s deliveries a query asks for (`limit`: recentDeliveryCount
 * when not given; `cursor`: the newest when not given), or why not: the page parameters' rule
 * (src/admin/page-query.ts).
 */
export function deliveryPage(
  query: { limit?: string; cursor?: string },
  endpoint: number,
): DeliveryPage {
  const limit = readLimit(query.limit, recentDeliveryCount)
  if (!limit.ok) return { parameter: 'limit', ...limit }
  const before = readCursor(query.cursor, (cursor) => decodeDeliveryCursor(cursor, endpoint))
  if (!before.ok) return { parameter: 'cursor', ...before }
  return {
    ok: true,
    limit: limit.value ?? recentDeliveryCount,
    limitGiven: limit.value !== undefined,
    before: before.value,
  }
}

/**
 * The `Link` header (RFC 8288) to the page after `lastId`, relative to the list's path, with the
 * same `limit` when one was given (as a plain number: `01` is `1`).
 */
export function nextLink(endpoint: number, lastId: string, limit: number | undefined): string {
  const query = new URLSearchParams(limit === undefined ? {} : { limit: String(limit) })
  query.set('cursor', encodeDeliveryCursor(endpoint, lastId))
  return `</api/admin/webhooks/${endpoint}/deliveries?${query}>; rel="next"`
}
