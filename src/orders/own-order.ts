import type { FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import { cookie, readCookie } from '../cookies.ts'
import type { Database } from '../db/schema.ts'
import { parseOrderNumber } from './order-number.ts'
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
