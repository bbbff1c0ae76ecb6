import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { hashPassword, passwordProblem, passwordsDiffer, samePassword } from './passwords.ts'
import type { StaffMember } from './queries.ts'
import { signIn, throttle } from './sign-in.ts'
import { accountIs } from './tokens.ts'

/**
 * Setting a staff password, the three ways it happens: ops with `npm run staff -- password`, an
 * admin for another member (`/admin/staff/:id`, `PUT /api/admin/staff/:id/password`), and a
 * member for themself with their current password (`/admin/password`,
 * `PUT /api/admin/me/password`). All three store the hash through resetPassword, so each ends
 * the account's sessions and leaves its API tokens.
 */

type Db = Kysely<Database>

/**
 * Sets the account's password (a hash from hashPassword) and ends its sessions, in one
 * transaction, so whoever signed in with the old one is signed out on their next request on
 * every instance. API tokens are left as they are (revoke them apart: a reset password is not a
 * stolen token). A disabled account stays disabled. Found by id, or by e-mail in any case;
 * undefined when no account is.
 *
 * `renew`, when given, runs in that transaction once every session is gone: a member changing
 * their own password starts their new session there (sessions.ts, startSession), so the change
 * and the renewal commit together or not at all.
 */
export async function resetPassword(
  db: Db,
  who: { id: number } | { email: string },
  passwordHash: string,
  renew?: (trx: Db, staffId: number) => Promise<void>,
): Promise<{ id: number; email: string; disabled: boolean } | undefined> {
  return db.transaction().execute(async (trx) => {
    const account = await trx
      .updateTable('staff')
      .set({ password_hash: passwordHash })
      .where(accountIs(who))
      .returning(['id', 'email', 'disabled_at'])
      .executeTakeFirst()
    if (!account) return undefined
    await trx.deleteFrom('staff_sessions').where('staff_id', '=', account.id).execute()
    await renew?.(trx, account.id)
    return { id: account.id, email: account.email, disabled: account.disabled_at !== null }
  })
}

/** Why an admin's reset of their own password is refused: it would skip the current password. */
export const ownPasswordElsewhere =
  'To change your own password, use "Change your password" (/admin/password) or PUT /api/admin/me/password: both ask for your current one.'

export type MemberPasswordOutcome =
  | { kind: 'set'; email: string; disabled: boolean }
  | { kind: 'invalid'; message: string }
  | { kind: 'not-found' }
  /** `actorId` is the member's own id. */
  | { kind: 'self'; message: string }

/**
 * An admin sets member `id`'s password to `password`, typed by the admin (as when adding an
 * account): the member found (else not-found), the rule of passwords.ts (not built on their
 * e-mail), then resetPassword. Refused for the admin's own account (`actorId`), whose change
 * goes through changeOwnPassword and its current-password check.
 */
export async function setMemberPassword(
  db: Db,
  id: number,
  password: string,
  { actorId, shop }: { actorId: number | undefined; shop: readonly string[] },
): Promise<MemberPasswordOutcome> {
  if (id === actorId) return { kind: 'self', message: ownPasswordElsewhere }
  const member = await db
    .selectFrom('staff')
    .select('email')
    .where('id', '=', id)
    .executeTakeFirst()
  if (!member) return { kind: 'not-found' }
  const problem = await passwordProblem(password, { email: member.email, shop })
  if (problem) return { kind: 'invalid', message: problem }
  const account = await resetPassword(db, { id }, await hashPassword(password))
  if (!account) return { kind: 'not-found' }
  return { kind: 'set', email: account.email, disabled: account.disabled }
}

export const wrongCurrentPassword =
  'That is not your current password. Nothing was changed: type it again.'
/** A new password that is the current one (samePassword): the member meant to change it. */
export const sameAsCurrentPassword =
  'The new password is the same as your current one. Nothing was changed: choose a different one.'
export const passwordAttemptsThrottled = `Too many password attempts on this account. Please wait ${throttle.windowSeconds / 60} minutes and try again.`

export type OwnPasswordOutcome =
  | { kind: 'changed' }
  /**
   * `current`: not the current password; `password`: the new one breaks the rule or is the
   * current one; `again`: the two differ.
   */
  | { kind: 'invalid'; field: 'current' | 'password' | 'again'; message: string }
  | { kind: 'throttled'; retryAfterSeconds: number; message: string }

/**
 * A signed-in member (`me`) changes their own password. The new one is checked first (the rule
 * of passwords.ts, then `again`, the form's second typing, when given), so a form refused for it
 * costs no guess. The current password is checked by signIn, the sign-in's own check: the same
 * throttle (per e-mail and per client `address`, counted with the sign-in form's attempts, 429
 * beyond it) and the same argon2id cost, so a stolen session guesses no faster here than at the
 * sign-in page. Only then is a new password equal to the current one (in the NFKC form that is
 * hashed: samePassword) refused, at `password`, so that refusal tells nothing to whoever does not
 * know the current one, and a wrong current password keeps its own answer. Then resetPassword:
 * every session of the account ends, `renew` (if any) starts the caller's new one in the same
 * transaction; tokens stay. A refusal changes nothing but what a verified current password does
 * at sign-in too: the account's throttle count cleared, a hash of older parameters replaced.
 */
export async function changeOwnPassword(
  db: Db,
  me: StaffMember,
  input: { current: string; password: string; again?: string },
  {
    address,
    renew,
    shop,
  }: {
    address: string
    renew?: (trx: Db, staffId: number) => Promise<void>
    /** The shop's words a password must not be built on (shopWords). */
    shop: readonly string[]
  },
): Promise<OwnPasswordOutcome> {
  const problem = await passwordProblem(input.password, { email: me.email, shop })
  if (problem) return { kind: 'invalid', field: 'password', message: problem }
  if (input.again !== undefined && input.again !== input.password) {
    return { kind: 'invalid', field: 'again', message: passwordsDiffer }
  }
  const check = await signIn(db, { email: me.email, password: input.current, address })
  if (check.outcome === 'throttled') {
    const { retryAfterSeconds } = check
    return { kind: 'throttled', retryAfterSeconds, message: passwordAttemptsThrottled }
  }
  if (check.outcome !== 'signed-in' || check.staff.id !== me.id) {
    return { kind: 'invalid', field: 'current', message: wrongCurrentPassword }
  }
  if (samePassword(input.password, input.current)) {
    return { kind: 'invalid', field: 'password', message: sameAsCurrentPassword }
  }
  await resetPassword(db, { id: me.id }, await hashPassword(input.password), renew)
  return { kind: 'changed' }
}
