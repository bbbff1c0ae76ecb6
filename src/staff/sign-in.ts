import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { characterCount } from '../text.ts'
import {
  dummyHash,
  hashPassword,
  maxPasswordLength,
  needsRehash,
  verifyPassword,
} from './passwords.ts'
import {
  clearAttempts,
  findStaffByEmail,
  forgetAttempt,
  recordAttempt,
  type StaffMember,
  updatePasswordHash,
} from './queries.ts'

/**
 * Sign-in throttle, kept in the database (staff_login_attempts) so every instance counts the
 * same attempts: at most 10 password checks per e-mail (known or not, so it tells nothing) and
 * 30 per client address in 15 minutes. An attempt the throttle refuses is not counted (its row
 * is taken back), and a success clears the account's count. So the per-e-mail limit lets a
 * stranger lock an account out until 15 minutes after their last counted failure at most: to
 * keep it locked they must fail 10 more checks each window, which is the password guessing the
 * limit bounds. OWASP's Authentication cheat sheet accepts that trade.
 */
export const throttle = { windowSeconds: 15 * 60, perEmail: 10, perAddress: 30 }

export type SignInResult =
  | { outcome: 'signed-in'; staff: StaffMember }
  /** Unknown e-mail, wrong password or disabled account: one answer, one cost. */
  | { outcome: 'refused' }
  | { outcome: 'throttled'; retryAfterSeconds: number }

/**
 * Checks an e-mail and password. Every attempt is recorded first (throttle), and taken back
 * when the throttle refuses it; a known e-mail is checked against its hash, an unknown one
 * against a dummy hash of the same parameters, so both take one argon2id computation and get
 * the same answer. On success a hash made with older parameters, or of the password as typed
 * rather than its NFKC form (verifyPassword's `as-typed`), is replaced.
 */
export async function signIn(
  db: Kysely<Database>,
  { email, password, address }: { email: string; password: string; address: string },
): Promise<SignInResult> {
  const attempt = await recordAttempt(db, { email, address }, throttle.windowSeconds)
  if (attempt.byEmail > throttle.perEmail || attempt.byAddress > throttle.perAddress) {
    await forgetAttempt(db, attempt.id)
    return { outcome: 'throttled', retryAfterSeconds: throttle.windowSeconds }
  }
  const account = await findStaffByEmail(db, email)
  // Longer than any password accepted (in characters, as passwordProblem counts): refused, after
  // the same one argon2id computation, over an empty password rather than the long one.
  const tooLong = characterCount(password) > maxPasswordLength
  const matches = await verifyPassword(
    account?.passwordHash ?? (await dummyHash()),
    tooLong ? '' : password,
  )
  if (!account || !matches || account.disabled || tooLong) {
    return { outcome: 'refused' }
  }
  await clearAttempts(db, email, attempt.id)
  if (matches === 'as-typed' || needsRehash(account.passwordHash)) {
    await updatePasswordHash(db, account.id, await hashPassword(password))
  }
  return {
    outcome: 'signed-in',
    staff: { id: account.id, email: account.email, role: account.role },
  }
}
