import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import { cookie, readCookie } from '../cookies.ts'
import type { Database } from '../db/schema.ts'
import { insertSession, type SessionTimes, type StaffMember, touchSession } from './queries.ts'
import { digest, looksLikeSecret, newSecret } from './secrets.ts'

/** Idle expiry 30 minutes, absolute 12 hours (issue 15; OWASP Session Management cheat sheet). */
export const sessionTimes: SessionTimes = { idleSeconds: 30 * 60, absoluteSeconds: 12 * 60 * 60 }

/**
 * The cookies' names. In production they carry the `__Host-` prefix: browsers then accept them
 * only with Secure, Path=/ and no Domain, so neither a subdomain nor plain HTTP can plant or
 * overwrite one (RFC 6265bis §4.1.3.2). Without HTTPS (development, tests) the prefix would make
 * browsers drop them.
 */
export function cookieNames(production: boolean) {
  const prefix = production ? '__Host-' : ''
  return { session: `${prefix}staff_session`, login: `${prefix}staff_login` }
}

export interface LiveSession {
  staff: StaffMember
  /** The session's id (the hash of the cookie's value). */
  id: string
  csrfSecret: string
}

/**
 * Starts a session for the staff member: a new random cookie value (never reused, so a value
 * planted before sign-in is worthless), its hash and a CSRF secret stored; the cookie is set.
 */
export async function startSession(
  db: Kysely<Database>,
  reply: FastifyReply,
  staffId: number,
  production: boolean,
): Promise<void> {
  const value = newSecret()
  await insertSession(db, { id: digest(value), staffId, csrfSecret: newSecret() }, sessionTimes)
  reply.header(
    'set-cookie',
    cookie(cookieNames(production).session, value, {
      maxAge: sessionTimes.absoluteSeconds,
      secure: production,
    }),
  )
}

/** The live session the request's cookie names, refreshed (see touchSession), or undefined. */
export async function currentSession(
  db: Kysely<Database>,
  request: FastifyRequest,
  production: boolean,
): Promise<LiveSession | undefined> {
  const value = readCookie(request.headers.cookie, cookieNames(production).session)
  if (!looksLikeSecret(value)) return undefined
  const id = digest(value)
  const row = await touchSession(db, id, sessionTimes)
  if (!row) return undefined
  const { csrfSecret, ...staff } = row
  return { staff, id, csrfSecret }
}

/** Tells the browser to forget the session cookie. */
export function clearSessionCookie(reply: FastifyReply, production: boolean) {
  reply.header(
    'set-cookie',
    cookie(cookieNames(production).session, '', { maxAge: 0, secure: production }),
  )
}
