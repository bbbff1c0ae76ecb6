import { type ExpressionBuilder, type Kysely, sql } from 'kysely'
import type { Database } from '../db/schema.ts'
import { emailIs, insertToken, type Role } from './queries.ts'
import type { RevealKind } from './secret-reveal.ts'
import { digest, looksLikeSecret, newSecret } from './secrets.ts'

/**
 * Staff API tokens (issue 15): listing, creating and revoking them, behind `/admin/staff`,
 * `/api/admin/staff` and `npm run staff -- token|tokens|revoke`. Only a token's SHA-256 is
 * stored; its value exists once, in `createToken`'s result.
 */

type Db = Kysely<Database>

/** An API token as the back office shows it: never its value nor its hash. */
export interface TokenSummary {
  id: number
  createdAt: string
  lastUsedAt: string | null
  revokedAt: string | null
}

/** A timestamp column as ISO 8601 in UTC; null stays null. */
export const iso = (d: Date | string | null): string | null =>
  d === null ? null : new Date(d).toISOString()

/** A where clause on `staff` for one account: by id, or by e-mail in any case. */
export const accountIs =
  (who: { id: number } | { email: string }) => (eb: ExpressionBuilder<Database, 'staff'>) =>
    'id' in who ? eb('id', '=', who.id) : emailIs(who.email)

export const isDisabled = (email: string) => `${email} is disabled.`

/** An account's tokens, newest first. */
export async function tokensOf(db: Db, staffId: number): Promise<TokenSummary[]> {
  const rows = await db
    .selectFrom('staff_tokens')
    .select(['id', 'created_at', 'last_used_at', 'revoked_at'])
    .where('staff_id', '=', staffId)
    .orderBy('id', 'desc')
    .execute()
  return rows.map((r) => ({
    id: r.id,
    createdAt: iso(r.created_at) as string,
    lastUsedAt: iso(r.last_used_at),
    revokedAt: iso(r.revoked_at),
  }))
}

export type TokenOutcome =
  | { kind: 'created'; token: string; summary: TokenSummary; email: string; role: Role }
  | { kind: 'not-found' }
  | { kind: 'disabled'; message: string }

/** The account's newest token is not `newestShown`: one was made since, and nothing now. */
export interface StaleTokenForm {
  kind: 'stale'
  newest: number
}

/**
 * A new API token for an enabled account: 32 random bytes, of which only the SHA-256 is kept.
 * The value is in this result and nowhere else, ever: show it once.
 * With `newestShown` (the id of the account's newest token when the page's form was shown, 0
 * for none), only while that is still its newest: a second submit of the same form (a double
 * click) makes nothing (`stale`), as a restock form's product version does. The account's row
 * is locked for it, so two submits at the same moment cannot both see the same newest token.
 */
export async function createToken(
  db: Db,
  who: { id: number } | { email: string },
): Promise<TokenOutcome>
export async function createToken(
  db: Db,
  who: { id: number } | { email: string },
  newestShown: number | undefined,
): Promise<TokenOutcome | StaleTokenForm>
export async function createToken(
  db: Db,
  who: { id: number } | { email: string },
  newestShown?: number,
): Promise<TokenOutcome | StaleTokenForm> {
  return db.transaction().execute(async (tx) => {
    let read = tx
      .selectFrom('staff')
      .select(['id', 'email', 'role', 'disabled_at'])
      .where(accountIs(who))
    if (newestShown !== undefined) read = read.forUpdate()
    const account = await read.executeTakeFirst()
    if (!account) return { kind: 'not-found' }
    if (account.disabled_at !== null) {
      return { kind: 'disabled', message: isDisabled(account.email) }
    }
    if (newestShown !== undefined) {
      const { newest } = await tx
        .selectFrom('staff_tokens')
        .select((eb) => eb.fn.coalesce(eb.fn.max('id'), eb.lit(0)).as('newest'))
        .where('staff_id', '=', account.id)
        .executeTakeFirstOrThrow()
      if (newest !== newestShown) return { kind: 'stale', newest }
    }
    const token = newSecret()
    const { id, createdAt } = await insertToken(tx, account.id, digest(token))
    const summary = { id, createdAt: iso(createdAt) as string, lastUsedAt: null, revokedAt: null }
    return { kind: 'created', token, summary, email: account.email, role: account.role }
  })
}

/** A new token's one showing on the member's page (secret-reveal.ts). */
export const tokenReveal: RevealKind = { cookie: 'staff_new_token', looksRight: looksLikeSecret }

/**
 * Whether `token` is the value of the live (unrevoked) token `tokenId` of the account
 * `staffId`: compared through its stored SHA-256, as every token is.
 */
export async function isLiveToken(
  db: Db,
  staffId: number,
  tokenId: number,
  token: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('staff_tokens')
    .select('id')
    .where('id', '=', tokenId)
    .where('staff_id', '=', staffId)
    .where('token_hash', '=', digest(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return row !== undefined
}

/**
 * Revokes a token (sets revoked_at, kept on a second call): it is refused from its next request
 * on, on every instance, since every check reads `revoked_at is null`. With `staffId`, only that
 * account's token. Undefined when there is no such token.
 */
export async function revokeToken(
  db: Db,
  tokenId: number,
  staffId?: number,
): Promise<(TokenSummary & { staffId: number }) | undefined> {
  let query = db
    .updateTable('staff_tokens')
    .set({ revoked_at: sql`coalesce(revoked_at, now())` })
    .where('id', '=', tokenId)
  if (staffId !== undefined) query = query.where('staff_id', '=', staffId)
  const row = await query
    .returning(['id', 'staff_id', 'created_at', 'last_used_at', 'revoked_at'])
    .executeTakeFirst()
  return (
    row && {
      id: row.id,
      staffId: row.staff_id,
      createdAt: iso(row.created_at) as string,
      lastUsedAt: iso(row.last_used_at),
      revokedAt: iso(row.revoked_at),
    }
  )
}
