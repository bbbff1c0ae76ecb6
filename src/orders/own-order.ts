import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import { cookie, readCookie } from '../cookies.ts'
import type { Database } from '../db/schema.ts'
import { formCustomer } from './customer.ts'
import { formLines } from './form-values.ts'
import { parseOrderNumber } from './order-number.ts'
import { hashRequest, mergeLines } from './placement.ts'
import { type FoundOrder, findOrderByIdempotencyKey } from './queries.ts'
import { validKey } from './schemas.ts'

/** The cookie that holds the key of the last order form this browser placed. */
const name = 'order_key'

/** A day, in seconds: long enough to come back to the confirmation, short enough to forget. */
const maxAgeS = 24 * 60 * 60

/**
 * The Set-Cookie value the order form's 303 carries: the form's key (a UUID, lower case), sent
 * back to `/orders/...` only, HttpOnly, SameSite=Lax (the 303's own navigation carries it), and
 * Secure when the request came over HTTPS (`request.protocol`, TRUST_PROXY-aware).
 */
export function ownOrderCookie(idempotencyKey: string, request: FastifyRequest): string {
  return cookie(name, idempotencyKey, {
    maxAge: maxAgeS,
    secure: request.protocol === 'https',
    path: '/orders',
  })
}

/**
 * The order `typed` names, if this browser placed it with the order form: the key in its
 * `order_key` cookie made that very order. What lets a client past its lookup misses
 * (lookup-misses.ts; a whole office behind one address, say) still see the confirmation its own
 * order form sent it to: a guessed number comes with no key that made it, and the key, 122
 * random bits, is not guessed either. One indexed read (the key is unique), only for such a
 * client; undefined without a well-formed cookie, before any read.
 */
export async function ownOrder(
  db: Kysely<Database>,
  request: FastifyRequest,
  typed: string,
): Promise<FoundOrder | undefined> {
  const key = readCookie(request.headers.cookie, name)
  const orderNumber = parseOrderNumber(typed)
  if (key === undefined || !validKey.test(key) || orderNumber === undefined) return undefined
  const found = await findOrderByIdempotencyKey(db, `form:${key.toLowerCase()}`)
  return found?.order.orderNumber === orderNumber ? found.order : undefined
}

/**
 * The order an order form placed already, when `form` (a valid form, normalised) is that very
 * form sent again: its key made an order from the same lines and customer (hashRequest). What a
 * form refused by the rate limit is answered with, so that a shopper whose first answer was lost
 * (a second click, a reload after a timeout) behind an address others have spent sees the order
 * that went in, not a 429 inviting a second one. One indexed read (the key is unique); undefined
 * for another form under the same key, or a key that made no order.
 */
export async function formAlreadyPlaced(
  db: Kysely<Database>,
  form: Readonly<Record<string, string>>,
): Promise<FoundOrder | undefined> {
  const key = form.idempotencyKey
  if (key === undefined || !validKey.test(key)) return undefined
  // Unread (the database down, say), it is no replay: the 429 stands.
  const found = await findOrderByIdempotencyKey(db, `form:${key}`).catch(() => undefined)
  if (!found) return undefined
  // The lines as placing reads them, prices left out: they are not part of the hash.
  const lines = formLines(form, {}).map(({ sku, quantity }) => ({ sku, quantity }))
  const hash = hashRequest(mergeLines(lines), formCustomer(form))
  return found.requestHash === hash ? found.order : undefined
}

/**
 * The order form's answer for the order its key placed (placed now or before): 303 to the
 * confirmation, with the key in the `order_key` cookie so that the confirmation is shown even
 * past the lookup limit (ownOrder).
 */
export function replayForm(
  request: FastifyRequest<{ Body: { idempotencyKey: string } }>,
  reply: FastifyReply,
  orderNumber: string,
): FastifyReply {
  reply.header('set-cookie', ownOrderCookie(request.body.idempotencyKey, request))
  return reply.redirect(`/orders/${orderNumber}`, 303)
}
