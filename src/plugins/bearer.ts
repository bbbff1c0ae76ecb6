/**
 * Bearer tokens (RFC 6750) as the service reads them and refuses them, for every route that
 * takes one: the staff API (src/staff/access.ts, realm `admin`) and `/metrics` (metrics.ts,
 * realm `metrics`), so both read the header and challenge alike.
 */
import type { FastifyRequest } from 'fastify'
import { givenTwice } from './header-lines.ts'

/** What a request's Authorization header offers (bearerCredentials). */
export type BearerCredentials =
  | { kind: 'none' }
  | { kind: 'malformed' }
  | { kind: 'repeated' }
  | { kind: 'token'; token: string }

/** What the refusal of a request whose Authorization came in two lines says. */
export const authorizationTwice =
  'The request has more than one Authorization header: send it once.'

/**
 * What a request's Authorization header offers (RFC 6750 §2.1: `Bearer 1*SP b64token`; the
 * scheme in any case, RFC 9110 §11.1): `repeated` when it came in more than one line (Node keeps
 * the first and drops the rest: an admin's token then a clerk's was served as the admin, the
 * other way round as the clerk, though which one the client meant cannot be told), `none`
 * without one or with another scheme (Basic…), `malformed` for the Bearer scheme without exactly
 * one b64token, else the token. Called only where a request is authenticated (header-lines.ts).
 */
export function bearerCredentials(request: FastifyRequest): BearerCredentials {
  if (givenTwice(request, 'authorization')) return { kind: 'repeated' }
  const header = request.headers.authorization
  if (header === undefined || !/^Bearer(?:[ \t]|$)/i.test(header)) return { kind: 'none' }
  const token = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header)?.[1]
  return token === undefined ? { kind: 'malformed' } : { kind: 'token', token }
}

/**
 * The status and `WWW-Authenticate` challenge refusing a request of `realm` whose credentials
 * did not authenticate (RFC 6750 §3, §3.1): no bearer token (none, or another scheme) only
 * lacks authentication, so 401 with no error code; a malformed Bearer header, or Authorization
 * given twice (§3.1: a request that "repeats the same parameter"), is invalid_request, 400; a
 * token that is not accepted is invalid_token, 401. `realm` is a word (no quote or backslash to
 * escape): `admin`, `metrics`.
 */
export function bearerRefusal(
  realm: string,
  kind: BearerCredentials['kind'],
): { status: 400 | 401; challenge: string } {
  const challenge = `Bearer realm="${realm}"`
  if (kind === 'none') return { status: 401, challenge }
  if (kind === 'malformed' || kind === 'repeated')
    return { status: 400, challenge: `${challenge}, error="invalid_request"` }
  return { status: 401, challenge: `${challenge}, error="invalid_token"` }
}
