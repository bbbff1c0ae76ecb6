import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/schema.ts'
import { webhookId } from './deliver.ts'
import { defaultLeaseMs } from './leases.ts'
import { iso, isoOrNull } from './queries.ts'
import type { Delivery } from './schemas.ts'

/**
 * An endpoint's deliveries, for the admin pages and API: the latest ones, redelivering one, and
 * making the waiting ones due when the endpoint is enabled. Answers API shapes (schemas.ts).
 */

type Db = Kysely<Database>

/** How many deliveries the endpoint page shows, newest first. */
export const recentDeliveryCount = 50

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

/**
 * The endpoint's latest deliveries, newest first (index webhook_deliveries_recent), or, given
 * `before` (a delivery id, decimal text), the latest of those made before that one: the next page.
 */
export async function recentDeliveries(
  db: Db,
  endpoint: number,
  limit = recentDeliveryCount,
  before?: string,
): Promise<Delivery[]> {
  const { rows } = await sql<DeliveryRow>`
    select ${deliveryColumns}
    from webhook_deliveries d
    left join outbox o on o.id = d.event_id
    left join orders ord on ord.id = d.order_id
    where d.endpoint_id = ${endpoint} ${before === undefined ? sql`` : sql`and d.id < ${before}`}
    order by d.id desc
    limit ${limit}
  `.execute(db)
  return rows.map(toDelivery)
}

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
 * A pending delivery (alias `d`) that may be on its way: tried within the last lease (30 s),
 * so a dispatcher may still hold it (leases.ts: the claim sets `last_attempt_at` and leases it
 * until then; a send never outlasts its lease). Making such a row due would let a second
 * dispatcher send the event while the first is still sending it. One whose attempt failed in
 * that time is counted too: the database cannot tell the two apart, and 30 s is soon over.
 */
const mayBeOnItsWay = sql<boolean>`(d.status = 'pending'
  and coalesce(d.last_attempt_at > now() - make_interval(secs => ${defaultLeaseMs / 1000}), false))`

export type RedeliverResult =
  | { kind: 'redelivered'; delivery: Delivery }
  | { kind: 'on-its-way'; delivery: Delivery }
  | { kind: 'not-found' }

/**
 * Sends a delivery again, due now, attempts kept (the dispatcher counts on from them): a
 * delivered or failed one back to `pending`, a pending one waiting for its next try sooner (no
 * need to wait out a backoff of up to 1 h once the receiver is fixed). One tried in the last
 * lease (`mayBeOnItsWay`) is left alone (`on-its-way`), so it is never sent twice at once.
 * Order per order is the claim's (leases.ts): a due delivery still waits for its order's
 * earlier events.
 */
export async function redeliver(
  db: Db,
  endpoint: number,
  delivery: string,
): Promise<RedeliverResult> {
  const { rows } = await sql`
    update webhook_deliveries d
    set status = 'pending', next_attempt_at = least(d.next_attempt_at, now())
    where d.id = ${delivery} and d.endpoint_id = ${endpoint} and not ${mayBeOnItsWay}
    returning d.id
  `.execute(db)
  const found = await findDelivery(db, endpoint, delivery)
  if (!found) return { kind: 'not-found' }
  return { kind: rows.length > 0 ? 'redelivered' : 'on-its-way', delivery: found }
}

/**
 * Makes the endpoint's pending deliveries that wait for their next try due now, attempts kept,
 * except those that may be on their way (`mayBeOnItsWay`: their attempt's outcome sets their
 * next try). Run with enabling the endpoint, in its statement's transaction (unique-url.ts's
 * changeEndpoint). Order per order stays the claim's (leases.ts).
 */
export async function resumeDeliveries(db: Db, endpoint: number): Promise<void> {
  await sql`
    update webhook_deliveries d set next_attempt_at = now()
    where d.endpoint_id = ${endpoint} and d.status = 'pending' and d.next_attempt_at > now()
      and not ${mayBeOnItsWay}
  `.execute(db)
}
