import { type Kysely, type Selectable, sql } from 'kysely'
import type { Database, WebhookEndpointsTable } from '../db/schema.ts'
import { sameSecret } from '../staff/secrets.ts'
import type { Endpoint, EndpointWithSecret } from './schemas.ts'

/**
 * Webhook endpoints and their deliveries, for the admin pages and API. Functions take the
 * database first and answer API shapes (schemas.ts); only `insertEndpoint` and `rotateSecret`
 * (secret-rotation.ts) answer the secret, and nothing answers a previous one.
 */

type Db = Kysely<Database>
type EndpointRow = Selectable<WebhookEndpointsTable>

const maxInt4 = 2_147_483_647
const maxInt8 = 9_223_372_036_854_775_807n

/** An endpoint id from the path, or undefined when no endpoint can have it (past int4). */
export function endpointId(digits: string): number | undefined {
  const id = Number(digits)
  return Number.isSafeInteger(id) && id >= 1 && id <= maxInt4 ? id : undefined
}

/** A delivery id from the path (bigint, kept as text), or undefined past int8. */
export function deliveryId(digits: string): string | undefined {
  const id = BigInt(digits)
  return id >= 1n && id <= maxInt8 ? id.toString() : undefined
}

export const iso = (t: Date | string) => new Date(t).toISOString()
export const isoOrNull = (t: Date | string | null) => (t === null ? null : iso(t))

/** An endpoint's row without its secrets (`shown`). */
type ShownRow = Omit<EndpointRow, 'secret' | 'previous_secret'>

export function toEndpoint(row: ShownRow): Endpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.event_types as Endpoint['eventTypes'],
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    failingSince: isoOrNull(row.failing_since),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    previousSecretUntil: isoOrNull(row.previous_secret_until),
  }
}

export const withSecret = (row: EndpointRow): EndpointWithSecret => ({
  ...toEndpoint(row),
  secret: row.secret,
})

/**
 * The columns an endpoint is shown with: everything but its secrets, and the previous secret's
 * end only while it is still used (by the database's clock, as the claim statement decides).
 */
export const shown = [
  'id',
  'url',
  'description',
  'event_types',
  'enabled',
  'disabled_reason',
  'failing_since',
  'created_by',
  'created_at',
  'updated_at',
  sql<Date | null>`case when previous_secret_until > now() then previous_secret_until end`.as(
    'previous_secret_until',
  ),
] as const

/** Every endpoint, oldest first (a handful: no paging). */
export async function listEndpoints(db: Db): Promise<Endpoint[]> {
  const rows = await db.selectFrom('webhook_endpoints').select(shown).orderBy('id').execute()
  return rows.map(toEndpoint)
}

export async function findEndpoint(db: Db, id: number): Promise<Endpoint | undefined> {
  const row = await db
    .selectFrom('webhook_endpoints')
    .select(shown)
    .where('id', '=', id)
    .executeTakeFirst()
  return row && toEndpoint(row)
}

/** Registers an endpoint (enabled unless said) with its new secret (answered: shown once). */
export async function insertEndpoint(
  db: Db,
  input: {
    url: string
    description: string
    eventTypes: readonly string[]
    secret: string
    createdBy: number | null
    enabled?: boolean
  },
): Promise<EndpointWithSecret> {
  const row = await db
    .insertInto('webhook_endpoints')
    .values({
      url: input.url,
      description: input.description,
      event_types: [...input.eventTypes],
      secret: input.secret,
      created_by: input.createdBy,
      enabled: input.enabled ?? true,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return withSecret(row)
}

/**
 * Changes the fields given; undefined when there is no such endpoint. Enabling clears the
 * dispatcher's reason and the failure run (a fresh start: the endpoint is not disabled again by
 * failures from before); disabling by an admin leaves no reason (the reason is the dispatcher's).
 */
export async function updateEndpoint(
  db: Db,
  id: number,
  patch: { url?: string; description?: string; eventTypes?: readonly string[]; enabled?: boolean },
): Promise<Endpoint | undefined> {
  const row = await db
    .updateTable('webhook_endpoints')
    .set({
      ...(patch.url !== undefined ? { url: patch.url } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.eventTypes !== undefined ? { event_types: [...patch.eventTypes] } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled, disabled_reason: null } : {}),
      ...(patch.enabled === true ? { failing_since: null } : {}),
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .returning(shown)
    .executeTakeFirst()
  return row && toEndpoint(row)
}

/** Deletes the endpoint and (cascade) its deliveries; false when there was none. */
export async function deleteEndpoint(db: Db, id: number): Promise<boolean> {
  const result = await db.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n
}

/**
 * Whether `secret` is the endpoint's current signing secret. The secret is kept in clear (the
 * dispatcher signs with it), so it is read and compared here in constant time rather than
 * matched by the database, whose comparison stops at the first differing byte.
 */
export async function signsWith(db: Db, id: number, secret: string): Promise<boolean> {
  const row = await db
    .selectFrom('webhook_endpoints')
    .select('secret')
    .where('id', '=', id)
    .executeTakeFirst()
  return row !== undefined && sameSecret(row.secret, secret)
}

/** An endpoint the back office's home page warns admins about (endpointsToWatch). */
export interface EndpointToWatch {
  id: number
  url: string
  /** The dispatcher's reason when it disabled the endpoint; null when it is only failing. */
  disabledReason: string | null
  /**
   * ISO 8601: since when every delivery has failed (for one the dispatcher disabled too, as the
   * page shows it beside the reason); null when a 2xx came since.
   */
  failingSince: string | null
}

/**
 * The endpoints an admin should look at, oldest first: those the dispatcher disabled for
 * failing too long (disabled with its reason: an admin's disabling leaves none), and the enabled
 * ones whose every delivery has failed since `failing_since` (no 2xx since; outcomes.ts disables
 * them after `disableAfterMs`). Enabling one clears both (updateEndpoint). One scan of the
 * endpoints table, a handful of rows: cheap enough for the back office's home page.
 */
export async function endpointsToWatch(db: Db): Promise<EndpointToWatch[]> {
  const rows = await db
    .selectFrom('webhook_endpoints')
    .select(['id', 'url', 'enabled', 'disabled_reason', 'failing_since'])
    .where((eb) =>
      eb.or([
        eb.and([eb('enabled', '=', false), eb('disabled_reason', 'is not', null)]),
        eb.and([eb('enabled', '=', true), eb('failing_since', 'is not', null)]),
      ]),
    )
    .orderBy('id')
    .execute()
  return rows.map((r) => ({
    id: r.id,
    url: r.url,
    disabledReason: r.enabled ? null : r.disabled_reason,
    failingSince: isoOrNull(r.failing_since),
  }))
}
