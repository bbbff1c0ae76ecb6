import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { cookie, readCookie } from './cookies.ts'
import { digest, looksLikeSecret } from './secrets.ts'

/**
 * A new API token's one showing on the back office (Post/Redirect/Get): the POST that makes it
 * answers 303 to the member's page and hands the value over in a short-lived cookie, which
 * that page's GET reads, shows once and deletes. A reload is then a GET that makes nothing and
 * finds no cookie; the value is never in a URL, so never in the browser's history, and no
 * server keeps it (only its SHA-256, as ever), so any instance can answer the GET.
 */

/** Long enough for the redirect on a slow link; the GET that follows it takes the value. */
const revealSeconds = 120

/** `staff_new_token`, with the `__Host-` prefix in production (sessions.ts, cookieNames). */
const cookieName = (production: boolean) => `${production ? '__Host-' : ''}staff_new_token`

/** The cookie's value: `<tokenId>.<token>` (the token is base64url: no `.` in it). */
const valuePattern = /^([1-9][0-9]{0,9})\.(.+)$/

/** Sets the cookie that carries a just-created token to the page that shows it. */
export function keepForReveal(
  reply: FastifyReply,
  reveal: { tokenId: number; token: string },
  production: boolean,
): void {
  reply.header(
    'set-cookie',
    cookie(cookieName(production), `${reveal.tokenId}.${reveal.token}`, {
      maxAge: revealSeconds,
      secure: production,
    }),
  )
}

/**
 * The token the request's cookie carries when it is a live token of the member `staffId`
 * (checked against its stored hash, so a cookie set by anyone else shows nothing), and then
 * the cookie is deleted: it is shown this once. Undefined otherwise, the cookie left as it is
 * (it expires within revealSeconds).
 */
export async function takeReveal(
  db: Kysely<Database>,
  request: FastifyRequest,
  reply: FastifyReply,
  staffId: number,
  production: boolean,
): Promise<{ id: number; token: string } | undefined> {
  const name = cookieName(production)
  const match = valuePattern.exec(readCookie(request.headers.cookie, name) ?? '')
  const token = match?.[2]
  if (!match || !looksLikeSecret(token)) return undefined
  const id = Number(match[1])
  if (id > 2_147_483_647) return undefined
  const row = await db
    .selectFrom('staff_tokens')
    .select('id')
    .where('id', '=', id)
    .where('staff_id', '=', staffId)
    .where('token_hash', '=', digest(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  if (!row) return undefined
  reply.header('set-cookie', cookie(name, '', { maxAge: 0, secure: production }))
  return { id, token }
}
