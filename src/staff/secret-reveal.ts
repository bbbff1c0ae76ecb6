import type { FastifyReply, FastifyRequest } from 'fastify'
import { cookie, readCookie } from '../cookies.ts'

/**
 * A new secret's one showing on the back office (Post/Redirect/Get): an API token made on a
 * member's page, a webhook endpoint's signing secret made by registering or rotating. The POST
 * that makes it answers 303 to the page that shows it and hands the value over in a short-lived
 * cookie, which that page's GET reads, checks against what is stored, shows once and deletes. A
 * reload is then a GET that makes nothing and finds no cookie; the value is never in a URL, so
 * never in the browser's history, and no server keeps it beyond what the database keeps anyway
 * (a token's SHA-256, a signing secret itself), so any instance can answer the GET.
 */

/** One kind of secret shown this way. */
export interface RevealKind {
  /** The cookie's name; `__Host-` goes before it in production (sessions.ts, cookieNames). */
  cookie: string
  /**
   * Whether a value has the secret's shape; anything else is refused before any lookup. The
   * shape must not contain `.` (it ends the id) nor characters a cookie value may not hold
   * (RFC 6265 §4.1.1: base64 and base64url are fine).
   */
  looksRight: (value: string) => boolean
}

/** Long enough for the redirect on a slow link; the GET that follows it takes the value. */
const revealSeconds = 120

const cookieName = (kind: RevealKind, production: boolean) =>
  `${production ? '__Host-' : ''}${kind.cookie}`

/** The cookie's value: `<id>.<secret>`, the id of the row the secret belongs to (int4). */
const valuePattern = /^([1-9][0-9]{0,9})\.(.+)$/

/**
 * Sets the cookie that carries a just-made secret (of the row `id`: a token's, an endpoint's)
 * to the page the POST redirects to.
 */
export function keepForReveal(
  reply: FastifyReply,
  kind: RevealKind,
  reveal: { id: number; secret: string },
  production: boolean,
): void {
  reply.header(
    'set-cookie',
    cookie(cookieName(kind, production), `${reveal.id}.${reveal.secret}`, {
      maxAge: revealSeconds,
      secure: production,
    }),
  )
}

/**
 * The `{id, secret}` the request's cookie of `kind` carries when `isLive(id, secret)` says it is
 * the stored, current secret of a row this page shows (so a cookie set by anyone else, or one
 * left from before a later rotation, shows nothing); the cookie is then deleted: it is shown
 * this once. Undefined otherwise, the cookie left as it is (it expires within revealSeconds).
 * `isLive` is called only for a well-formed value, with an id of at most 2^31 - 1.
 */
export async function takeReveal(
  request: FastifyRequest,
  reply: FastifyReply,
  kind: RevealKind,
  production: boolean,
  isLive: (id: number, secret: string) => Promise<boolean>,
): Promise<{ id: number; secret: string } | undefined> {
  const name = cookieName(kind, production)
  const match = valuePattern.exec(readCookie(request.headers.cookie, name) ?? '')
  const secret = match?.[2]
  if (!match || secret === undefined || !kind.looksRight(secret)) return undefined
  const id = Number(match[1])
  if (id > 2_147_483_647 || !(await isLive(id, secret))) return undefined
  reply.header('set-cookie', cookie(name, '', { maxAge: 0, secure: production }))
  return { id, secret }
}
