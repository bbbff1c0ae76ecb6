import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/schema.ts'

type Db = Kysely<Database>

export type Role = 'staff' | 'admin'
export const roles: readonly Role[] = ['staff', 'admin']

/** Who is calling: what `request.staff` holds once a session or token is checked. */
export interface StaffMember {
  id: number
  email: string
  role: Role
}

export interface StaffAccount extends StaffMember {
  passwordHash: string
  disabled: boolean
}

/** Seconds as an interval, computed by the database (its clock is the one all instances share). */
const seconds = (s: number) => sql`(${Math.round(s)}::integer * interval '1 second')`

/**
 * A staff e-mail as it is stored and looked up: in NFC, so `é` typed as one character or as `e`
 * and a combining accent is one address (two accounts could otherwise hold addresses that look
 * the same, and the one typed the other way could not be found).
 */
export const staffEmail = (email: string): string => email.normalize('NFC')

/**
 * "This account's e-mail is `email`, in any case": `lower(email)`, the expression of the unique
 * index that makes an e-mail unique in any case, against the database's own lower() of the
 * e-mail given, never JavaScript's toLowerCase(). Both sides are then lowered by one function,
 * so an account is found by the address it was added with whatever the database's locale: on a
 * database whose LC_CTYPE is C, lower() folds A–Z only, and `Élodie@…` lowered by JavaScript
 * (`élodie@…`) matched no row, so that account could not sign in nor be disabled by e-mail.
 */
export const emailIs = (email: string) => sql<boolean>`lower(email) = lower(${staffEmail(email)})`

/** The account with this e-mail, in any case, or undefined. */
export async function findStaffByEmail(db: Db, email: string): Promise<StaffAccount | undefined> {
  const row = await db
    .selectFrom('staff')
    .select(['id', 'email', 'role', 'password_hash', 'disabled_at'])
    .where(emailIs(email))
    .executeTakeFirst()
  return (
    row && {
      id: row.id,
      email: row.email,
      role: row.role,
      passwordHash: row.password_hash,
      disabled: row.disabled_at !== null,
    }
  )
}

/**
 * Adds an account; returns its id, or undefined when one with this e-mail (in any case) exists.
 * With `onlyIfNoAdmin`, adds it only while no admin exists (the first admin at start; two
 * instances starting together add one, the other finds the e-mail taken or an admin there).
 */
export async function insertStaff(
  db: Db,
  account: { email: string; role: Role; passwordHash: string },
  { onlyIfNoAdmin = false } = {},
): Promise<number | undefined> {
  const row = await sql<{ id: number }>`
    insert into staff (email, role, password_hash)
    select ${staffEmail(account.email)}, ${account.role}, ${account.passwordHash}
    where not ${onlyIfNoAdmin} or not exists (select 1 from staff where role = 'admin')
    on conflict ((lower(email))) do nothing
    returning id
  `.execute(db)
  return row.rows[0]?.id
}

/** Stores a new password hash (a sign-in found the old one made with older parameters). */
export async function updatePasswordHash(db: Db, id: number, passwordHash: string) {
  await db.updateTable('staff').set({ password_hash: passwordHash }).where('id', '=', id).execute()
}

/** Stores an API token's hash for the account; returns the token's id and creation time. */
export async function insertToken(
  db: Db,
  staffId: number,
  tokenHash: string,
): Promise<{ id: number; createdAt: Date }> {
  const row = await db
    .insertInto('staff_tokens')
    .values({ staff_id: staffId, token_hash: tokenHash })
    .returning(['id', 'created_at as createdAt'])
    .executeTakeFirstOrThrow()
  return row
}

/**
 * The staff member holding this token (by its hash) if it is valid (not revoked, account not
 * disabled: checked on every request); marks it used when it was last marked over a minute ago.
 * Every API request reads this, so marking it every time made each read a write transaction
 * that waited for its commit's WAL flush: 8 ms at the median, 50 to 90 ms at p99 on a VM whose
 * disk was busy (docs/benchmarks.md, "Back office at 10M orders"). A statement whose UPDATE
 * changes no row takes no transaction id and commits without flushing anything.
 */
export async function staffByToken(db: Db, tokenHash: string): Promise<StaffMember | undefined> {
  const { rows } = await sql<StaffMember>`
    with found as (
      select t.id as token_id, t.last_used_at, s.id, s.email, s.role
      from staff_tokens t join staff s on s.id = t.staff_id
      where t.token_hash = ${tokenHash} and t.revoked_at is null and s.disabled_at is null
    ), marked as (
      update staff_tokens t set last_used_at = now()
      from found f
      where t.id = f.token_id
        and (f.last_used_at is null or f.last_used_at < now() - interval '1 minute')
    )
    select id, email, role from found
  `.execute(db)
  return rows[0]
}

export interface SessionTimes {
  /** Seconds without a request after which the session ends. */
  idleSeconds: number
  /** Seconds after sign-in after which it ends whatever happens. */
  absoluteSeconds: number
}

/** Stores a new session (its id is the hash of the cookie's value). */
export async function insertSession(
  db: Db,
  session: { id: string; staffId: number; csrfSecret: string },
  times: SessionTimes,
) {
  await db
    .insertInto('staff_sessions')
    .values({
      id: session.id,
      staff_id: session.staffId,
      csrf_secret: session.csrfSecret,
      expires_at: sql<Date>`now() + ${seconds(times.absoluteSeconds)}`,
    })
    .execute()
}

/**
 * How often a session's last activity is written: a request marks it only when the mark is
 * older than this (as staffByToken does for API tokens). Every back-office page reads the
 * session, and a write per page made each one a write transaction waiting for its commit's WAL
 * flush. The idle expiry counts from the mark, so it allows this much more: a session ends
 * between idleSeconds and idleSeconds + markSeconds after its last request, never earlier.
 */
export const sessionMarkSeconds = 60

/**
 * The session's staff member and CSRF secret when the session is live (neither idle nor past
 * its end) and its staff member is not disabled, in one statement that also records this
 * request as its last activity when the recorded one is over sessionMarkSeconds old (an UPDATE
 * that changes no row takes no transaction id and flushes nothing); undefined otherwise. Run on
 * every request, so a disabled account or an ended session is refused on its next request, on
 * every instance. Idle means no mark for idleSeconds + sessionMarkSeconds: the mark may be up
 * to sessionMarkSeconds older than the last request.
 */
export async function touchSession(
  db: Db,
  id: string,
  { idleSeconds }: SessionTimes,
): Promise<(StaffMember & { csrfSecret: string }) | undefined> {
  const { rows } = await sql<StaffMember & { csrfSecret: string }>`
    with found as (
      select x.id as session_id, x.last_seen_at, s.id, s.email, s.role, x.csrf_secret
      from staff_sessions x join staff s on s.id = x.staff_id
      where x.id = ${id} and x.expires_at > now()
        and x.last_seen_at > now() - ${seconds(idleSeconds + sessionMarkSeconds)}
        and s.disabled_at is null
    ), marked as (
      update staff_sessions x set last_seen_at = now()
      from found f
      where x.id = f.session_id
        and f.last_seen_at < now() - ${seconds(sessionMarkSeconds)}
    )
    select id, email, role, csrf_secret as "csrfSecret" from found
  `.execute(db)
  return rows[0]
}

/** Ends a session (sign-out); also removes this staff member's sessions that have expired. */
export async function deleteSession(db: Db, id: string, times: SessionTimes) {
  await sql`
    delete from staff_sessions
    where id = ${id}
      or (staff_id = (select staff_id from staff_sessions where id = ${id})
          and (expires_at <= now()
            or last_seen_at <= now() - ${seconds(times.idleSeconds + sessionMarkSeconds)}))
  `.execute(db)
}

/**
 * Records one sign-in attempt and returns how many attempts, this one included, the e-mail and
 * the address have made in the last `windowSeconds`. Recorded before the password is checked,
 * so concurrent guesses count each other. Rows older than the window are removed.
 */
export async function recordAttempt(
  db: Db,
  attempt: { email: string; address: string },
  windowSeconds: number,
): Promise<{ id: string; byEmail: number; byAddress: number }> {
  const email = staffEmail(attempt.email).toLowerCase()
  const { rows } = await sql<{ id: string }>`
    insert into staff_login_attempts (email, address) values (${email}, ${attempt.address})
    returning id::text
  `.execute(db)
  const since = sql`now() - ${seconds(windowSeconds)}`
  const counts = await sql<{ byEmail: number; byAddress: number }>`
    select
      (select count(*)::integer from staff_login_attempts where email = ${email} and attempted_at > ${since}) as "byEmail",
      (select count(*)::integer from staff_login_attempts where address = ${attempt.address} and attempted_at > ${since}) as "byAddress"
  `.execute(db)
  // Every key's old rows, not only this one's: the table holds one window of attempts at most,
  // however many e-mails and addresses an attacker cycles through.
  await sql`delete from staff_login_attempts where attempted_at <= ${since}`.execute(db)
  const { byEmail = 0, byAddress = 0 } = counts.rows[0] ?? {}
  return { id: rows[0]?.id ?? '0', byEmail, byAddress }
}

/**
 * Takes back an attempt the throttle refused: only password checks count, so refused attempts
 * cannot keep an account locked past a window after its last checked failure. Recorded first
 * and taken back after (not counted before inserting), so concurrent attempts still see each
 * other.
 */
export async function forgetAttempt(db: Db, attemptId: string) {
  await sql`delete from staff_login_attempts where id = ${attemptId}::bigint`.execute(db)
}

/**
 * After a successful sign-in: the account's attempts no longer count against it, and this
 * attempt not against the address (others from there still do).
 */
export async function clearAttempts(db: Db, email: string, attemptId: string) {
  await sql`
    delete from staff_login_attempts where email = ${staffEmail(email).toLowerCase()} or id = ${attemptId}::bigint
  `.execute(db)
}
