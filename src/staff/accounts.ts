import { type Kysely, type SelectQueryBuilder, sql } from 'kysely'
import type { Database } from '../db/schema.ts'
import { emailMessage, isEmailAddress } from '../email.ts'
import { hiddenCharacters, isPrintable } from '../text.ts'
import { hashPassword, passwordProblem } from './passwords.ts'
import { findStaffByEmail, insertStaff, type Role, roles } from './queries.ts'
import { accountIs, iso, type TokenSummary, tokensOf } from './tokens.ts'

/**
 * Staff accounts as the admin role manages them (issue 15): the use cases behind `/admin/staff`,
 * `/api/admin/staff` and `npm run staff`, so the three apply the same rules. No function here
 * returns a password hash, a token's hash, or a token except the one just created.
 */

type Db = Kysely<Database>

/** A staff account as the back office lists it. Times are ISO 8601 in UTC. */
export interface StaffSummary {
  id: number
  email: string
  role: Role
  disabled: boolean
  disabledAt: string | null
  createdAt: string
  /** Tokens not revoked (they open the API while the account is enabled). */
  activeTokens: number
  /** The last time any of its tokens was used; null when none ever was. */
  lastTokenUsedAt: string | null
}

export interface StaffDetails extends StaffSummary {
  /** Newest first. */
  tokens: TokenSummary[]
}

export const isRole = (role: unknown): role is Role => roles.includes(role as Role)

/** The refusal of an e-mail taken (in any case): names the account as stored, not as typed. */
export async function emailTaken(db: Db, email: string): Promise<string> {
  const stored = (await findStaffByEmail(db, email))?.email ?? email
  return `A staff account with the e-mail ${stored} exists.`
}
export const lastAdmin = (email: string) =>
  `${email} is the last enabled admin: make another admin first.`
export const notYourself = 'You cannot demote or disable your own account: ask another admin.'

interface SummaryRow {
  id: number
  email: string
  role: Role
  disabled_at: Date | null
  created_at: Date
  active_tokens: number
  last_token_used_at: Date | null
}

/** Accounts with their token counts, one statement; `where` narrows it. */
function summaries(db: Db): SelectQueryBuilder<Database, 'staff', SummaryRow> {
  return db
    .selectFrom('staff')
    .select([
      'staff.id',
      'staff.email',
      'staff.role',
      'staff.disabled_at',
      'staff.created_at',
      sql<number>`(select count(*)::integer from staff_tokens t where t.staff_id = staff.id and t.revoked_at is null)`.as(
        'active_tokens',
      ),
      sql<Date | null>`(select max(t.last_used_at) from staff_tokens t where t.staff_id = staff.id)`.as(
        'last_token_used_at',
      ),
    ])
}

function toSummary(row: SummaryRow): StaffSummary {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    disabled: row.disabled_at !== null,
    disabledAt: iso(row.disabled_at),
    createdAt: iso(row.created_at) as string,
    activeTokens: row.active_tokens,
    lastTokenUsedAt: iso(row.last_token_used_at),
  }
}

/** Every account, by e-mail (any case). */
export async function listStaff(db: Db): Promise<StaffSummary[]> {
  const rows = await summaries(db).orderBy(sql`lower(email)`).orderBy('staff.id').execute()
  return rows.map(toSummary)
}

/** One account, or undefined. */
export async function staffSummary(db: Db, id: number): Promise<StaffSummary | undefined> {
  const row = await summaries(db).where('staff.id', '=', id).executeTakeFirst()
  return row && toSummary(row)
}

/** One account with its tokens, or undefined. */
export async function staffDetails(db: Db, id: number): Promise<StaffDetails | undefined> {
  const summary = await staffSummary(db, id)
  return summary && { ...summary, tokens: await tokensOf(db, id) }
}

export type AddOutcome =
  | { kind: 'added'; member: StaffSummary }
  | { kind: 'invalid'; field: 'email' | 'role' | 'password'; message: string }
  | { kind: 'taken'; message: string }

/**
 * Adds an account (`email` trimmed, kept as typed; in ASCII, src/email.ts isEmailAddress; unique
 * in any case) with the password rule of passwords.ts (not built on that e-mail or on `shop`,
 * the shop's words: shopWords). The password
 * is hashed here and never returned.
 */
export async function addStaffMember(
  db: Db,
  input: { email: string; role: string; password: string },
  shop: readonly string[],
): Promise<AddOutcome> {
  const email = input.email.trim()
  if (!isPrintable(email)) {
    const message = `The e-mail address must not contain ${hiddenCharacters}.`
    return { kind: 'invalid', field: 'email', message }
  }
  if (!isEmailAddress(email)) {
    return { kind: 'invalid', field: 'email', message: emailMessage(email) }
  }
  if (!isRole(input.role))
    return { kind: 'invalid', field: 'role', message: 'Choose staff or admin.' }
  const problem = await passwordProblem(input.password, { email, shop })
  if (problem) return { kind: 'invalid', field: 'password', message: problem }
  const passwordHash = await hashPassword(input.password)
  const id = await insertStaff(db, { email, role: input.role, passwordHash })
  if (id === undefined) return { kind: 'taken', message: await emailTaken(db, email) }
  return { kind: 'added', member: (await staffSummary(db, id)) as StaffSummary }
}

export type ChangeOutcome =
  /** `email` as stored (a change by e-mail finds it in any case). */
  | { kind: 'changed'; id: number; email: string }
  | { kind: 'not-found' }
  /** The change would leave no enabled admin. */
  | { kind: 'last-admin'; message: string }
  /** An admin demoting or disabling their own account. */
  | { kind: 'self'; message: string }

/**
 * Sets an account's role, or disables or enables it, in one transaction. Disabling deletes its
 * sessions and revokes its tokens (revoked_at), so both stop on their next request on every
 * instance, and enabling it again brings neither back. Refused when the account is the last
 * enabled admin and would stop being one, and when `actorId` (the admin making the change) would
 * demote or disable themself.
 *
 * Every enabled admin's row is locked first, in id order: two changes that could each remove an
 * admin (two admins disabling each other at once, on two instances) wait for each other, and the
 * second counts what the first left.
 */
export async function changeStaff(
  db: Db,
  who: { id: number } | { email: string },
  change: { role?: Role; disabled?: boolean },
  { actorId }: { actorId?: number } = {},
): Promise<ChangeOutcome> {
  return db.transaction().execute(async (trx) => {
    const admins = await trx
      .selectFrom('staff')
      .select('id')
      .where('role', '=', 'admin')
      .where('disabled_at', 'is', null)
      .orderBy('id')
      .forUpdate()
      .execute()
    const target = await trx
      .selectFrom('staff')
      .select(['id', 'email', 'role', 'disabled_at'])
      .where(accountIs(who))
      .forUpdate()
      .executeTakeFirst()
    if (!target) return { kind: 'not-found' }
    const role = change.role ?? target.role
    const disabled = change.disabled ?? target.disabled_at !== null
    const wasAdmin = target.role === 'admin' && target.disabled_at === null
    if (wasAdmin && (role !== 'admin' || disabled)) {
      if (!admins.some((a) => a.id !== target.id)) {
        return { kind: 'last-admin', message: lastAdmin(target.email) }
      }
      if (target.id === actorId) return { kind: 'self', message: notYourself }
    }
    await trx
      .updateTable('staff')
      .set({ role, disabled_at: disabled ? sql`coalesce(disabled_at, now())` : null })
      .where('id', '=', target.id)
      .execute()
    if (disabled) {
      await trx.deleteFrom('staff_sessions').where('staff_id', '=', target.id).execute()
      await trx
        .updateTable('staff_tokens')
        .set({ revoked_at: sql`now()` })
        .where('staff_id', '=', target.id)
        .where('revoked_at', 'is', null)
        .execute()
    }
    return { kind: 'changed', id: target.id, email: target.email }
  })
}

/** `npm run staff -- disable`, the page's Disable and the API's `disabled: true`: one query. */
export const disableStaff = (
  db: Db,
  who: { id: number } | { email: string },
  options: { actorId?: number } = {},
) => changeStaff(db, who, { disabled: true }, options)
