import { cursorJson, isBigintId } from '../admin/cursor.ts'
import { readCursor, readLimit } from '../admin/page-query.ts'
import { recentDeliveryCount } from './deliveries.ts'

/**
 * Pages of an endpoint's deliveries for `GET /api/admin/webhooks/:id/deliveries`, newest first
 * (by id: a delivery made later has a larger one). A page ends at a delivery; the next one
 * starts after it (keyset, as the order list: src/admin/cursor.ts), so deliveries made in
 * between never shift a page or show one twice.
 */

/** The opaque cursor after delivery `id` (decimal text): base64url of `["delivery", id]`. */
export const encodeDeliveryCursor = (id: string): string =>
  Buffer.from(JSON.stringify(['delivery', id])).toString('base64url')

/** The delivery id a cursor holds, or undefined when this service did not make it. */
export function decodeDeliveryCursor(cursor: string): string | undefined {
  const value = cursorJson(cursor)
  if (!Array.isArray(value) || value.length !== 2 || value[0] !== 'delivery') return undefined
  return isBigintId(value[1]) ? value[1] : undefined
}

export type DeliveryPage =
  | { ok: true; limit: number; limitGiven: boolean; before: string | undefined }
  | { ok: false; parameter: 'cursor' | 'limit'; message: string; detail: string }

/**
 * The page a query asks for (`limit`: recentDeliveryCount when not given; `cursor`: the newest
 * when not given), or why not: the page parameters' rule (src/admin/page-query.ts).
 */
export function deliveryPage(query: { limit?: string; cursor?: string }): DeliveryPage {
  const limit = readLimit(query.limit, recentDeliveryCount)
  if (!limit.ok) return { parameter: 'limit', ...limit }
  const before = readCursor(query.cursor, decodeDeliveryCursor)
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
  query.set('cursor', encodeDeliveryCursor(lastId))
  return `</api/admin/webhooks/${endpoint}/deliveries?${query}>; rel="next"`
}
