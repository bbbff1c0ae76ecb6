import { type Kysely, type Selectable, sql } from 'kysely'
import type { Database, WebhookEndpointsTable } from '../db/schema.ts'
import { sameSecret } from '../staff/secrets.ts'
import { webhookId } from './deliver.ts'
import type { Delivery, Endpoint, EndpointWithSecret } from './schemas.ts'

/**
 * Webhook endpoints and their deliveries, for the admin pages and API. Functions take the
 * database first and answer API shapes (schemas.ts); only `insertEndpoint` and `rotateSecret`
 * (secret-rotation.ts) answer the secret, and nothing answers a previous one.
 */

type Db = Kysely<Database>
type EndpointRow = Selectable<WebhookEndpointsTable>

/** How many deliveries the endpoint page shows, newest first. */
export const recentDeliveryCount = 50

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

const iso = (t: Date | string) => new Date(t).toISOString()
const isoOrNull = (t: Date | string | null) => (t === null ? null : iso(t))

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

interface DeliveryRow {
  id: string | number
  event_id: string | number
  public_id: string | null
  event_type: string | null
  order_number: string | null
  status: Delivery['status']
  attempts: number
  next_attempt_at: Date | string
  last_attempt_at: Date | string | null
  last_response_status: number | null
  last_error: string | null
  delivered_at: Date | string | null
  created_at: Date | string
}

const toDelivery = (r: DeliveryRow): Delivery => ({
  id: String(r.id),
  eventId: String(r.event_id),
  webhookId: r.public_id === null ? null : webhookId(r.public_id),
  eventType: r.event_type ?? 'unknown',
  orderNumber: r.order_number,
  status: r.status,
  attempts: r.attempts,
  // The column keeps the last lease's time after the outcome: meaningful only while pending.
  nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
  lastAttemptAt: isoOrNull(r.last_attempt_at),
  lastResponseStatus: r.last_response_status,
  lastError: r.last_error,
  deliveredAt: isoOrNull(r.delivered_at),
  createdAt: iso(r.created_at),
})

const deliveryColumns = sql`
  d.id, d.event_id, o.public_id::text as public_id, o.event_type, ord.order_number, d.status, d.attempts, d.next_attempt_at,
  d.last_attempt_at, d.last_response_status, d.last_error, d.delivered_at, d.created_at`

/** The endpoint's latest deliveries, newest first (index webhook_deliveries_recent). */
export async function recentDeliveries(
  db: Db,
  endpoint: number,
  limit = recentDeliveryCount,
): Promise<Delivery[]> {
  const { rows } = await sql<DeliveryRow>`
    select ${deliveryColumns}
    from webhook_deliveries d
    left join outbox o on o.id = d.event_id
    left join orders ord on ord.id = d.order_id
    where d.endpoint_id = ${endpoint}
    order by d.id desc
    limit ${limit}
  `.execute(db)
  return rows.map(toDelivery)
}

export type RedeliverResult =
  | { kind: 'redelivered'; delivery: Delivery }
  | { kind: 'pending'; delivery: Delivery }
  | { kind: 'not-found' }

/** One delivery of the endpoint, or undefined. */
async function findDelivery(db: Db, endpoint: number, delivery: string) {
  const { rows } = await sql<DeliveryRow>`
    select ${deliveryColumns}
    from webhook_deliveries d
    left join outbox o on o.id = d.event_id
    left join orders ord on ord.id = d.order_id
    where d.id = ${delivery} and d.endpoint_id = ${endpoint}
  `.execute(db)
  const row = rows[0]
  return row && toDelivery(row)
}

/**
 * Sends a delivered or failed delivery again: back to `pending`, due now, attempts kept (the
 * dispatcher counts on from them). A delivery still pending is left alone (`pending`): it is on
 * its way or waiting for its next try, and sending it now besides could send it twice at once.
 */
export async function redeliver(
  db: Db,
  endpoint: number,
  delivery: string,
): Promise<RedeliverResult> {
  const changed = await db
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', next_attempt_at: sql<Date>`now()` })
    .where(sql`id`, '=', delivery)
    .where('endpoint_id', '=', endpoint)
    .where('status', '<>', 'pending')
    .executeTakeFirst()
  const found = await findDelivery(db, endpoint, delivery)
  if (!found) return { kind: 'not-found' }
  return { kind: changed.numUpdatedRows > 0n ? 'redelivered' : 'pending', delivery: found }
}
