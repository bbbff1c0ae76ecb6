import { cursorJson, damagedLink, isBigintId } from '../admin/cursor.ts'
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
  | { ok: true; limit: number; before: string | undefined }
  | { ok: false; message: string }

/** The page a query asks for (`limit`, 1 to 50 as the schema checked; `cursor`), or why not. */
export function deliveryPage(query: { limit?: string; cursor?: string }): DeliveryPage {
  const limit = query.limit === undefined ? recentDeliveryCount : Number(query.limit)
  if (query.cursor === undefined) return { ok: true, limit, before: undefined }
  const before = decodeDeliveryCursor(query.cursor)
  return before ? { ok: true, limit, before } : { ok: false, message: damagedLink }
}

/**
 * The `Link` header (RFC 8288) to the page after `lastId`, relative to the list's path, with the
 * same `limit` when one was given.
 */
export function nextLink(endpoint: number, lastId: string, limit: string | undefined): string {
  const query = new URLSearchParams(limit === undefined ? {} : { limit })
  query.set('cursor', encodeDeliveryCursor(lastId))
  return `</api/admin/webhooks/${endpoint}/deliveries?${query}>; rel="next"`
}
