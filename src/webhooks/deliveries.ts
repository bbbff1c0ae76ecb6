import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/schema.ts'
import { webhookId } from './deliver.ts'
import { defaultLeaseMs } from './leases.ts'
import { deliveryId, iso, isoOrNull } from './queries.ts'
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
  waits_for: string | number | null
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
  waitsFor: r.waits_for === null ? null : String(r.waits_for),
})

// waits_for: the claim's first ordering rule (leases.ts, claimStatement), turned round to name
// the earliest pending delivery of an earlier event of the order to the endpoint, by the index
// webhook_deliveries_order_pending. (Its other rule, an earlier event not yet fanned out, lasts
// a dispatcher pass: not shown.)
const deliveryColumns = sql`
  d.id, d.event_id, o.public_id::text as public_id, o.event_type, ord.order_number, d.status, d.attempts, d.next_attempt_at,
  d.last_attempt_at, d.last_response_status, d.last_error, d.delivered_at, d.created_at,
  case when d.status = 'pending' and d.order_id is not null then (
    select p.id::text from webhook_deliveries p
    where p.endpoint_id = d.endpoint_id and p.order_id = d.order_id
      and p.status = 'pending' and p.event_id < d.event_id
    order by p.event_id limit 1
  ) end as waits_for`

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

/** The lease, 30 s: how long an attempt may still be on its way, and redelivering waits. */
const lease = sql`make_interval(secs => ${defaultLeaseMs / 1000})`

/**
 * A pending delivery (alias `d`) that may be on its way: tried within the last lease (30 s),
 * so a dispatcher may still hold it (leases.ts: the claim sets `last_attempt_at` and leases it
 * until then; a send never outlasts its lease). Making such a row due would let a second
 * dispatcher send the event while the first is still sending it. One whose attempt failed in
 * that time is counted too: the database cannot tell the two apart, and 30 s is soon over.
 */
const mayBeOnItsWay = sql<boolean>`(d.status = 'pending'
  and coalesce(d.last_attempt_at > now() - ${lease}, false))`

/**
 * Why a delivery may not be redelivered yet: `on-its-way`, pending and tried in the last 30 s
 * (`mayBeOnItsWay`); `tried`, delivered or failed by an attempt in the last 30 s; `asked`,
 * redelivered in the last 30 s (so not sent yet, or sent and recorded since).
 */
export type TooSoon = 'on-its-way' | 'tried' | 'asked'

/** Why redelivering is refused for now (redeliver): the 409's sentence. */
export const tooSoon = ({ id, status }: { id: string; status: string }, why: TooSoon) =>
  ({
    'on-its-way': `Delivery ${id} was tried less than 30 s ago and may still be on its way: redeliver it once that attempt is recorded, in 30 s at the latest.`,
    tried: `Delivery ${id} was tried less than 30 s ago and is ${status}: to send it again, redeliver it once 30 s have passed since that attempt.`,
    asked: `Delivery ${id} was already asked to be sent again less than 30 s ago, and is sent once it is due; ask again after 30 s if it still needs sending.`,
  })[why]

export type RedeliverResult =
  | { kind: 'redelivered'; delivery: Delivery }
  | { kind: 'too-soon'; why: TooSoon; delivery: Delivery }
  | { kind: 'not-found' }

/**
 * Sends a delivery again, due now, attempts kept (the dispatcher counts on from them): a
 * delivered or failed one back to `pending`, a pending one waiting for its next try sooner (no
 * need to wait out a backoff of up to 1 h, or a receiver's Retry-After, once it is fixed). Refused (`too-soon`) for
 * one tried or redelivered in the last lease, 30 s (docs/events.md): a pending one may still be
 * on its way, and would be sent twice at once; a delivered one was just answered, and clicks a
 * moment apart would each send it again. The test and the change are one statement, so of
 * concurrent requests one redelivers (PostgreSQL re-reads the row the first one changed, and
 * finds `redelivered_at` just set) and the others are refused. Order per order is the claim's
 * (leases.ts): a due delivery still waits for its order's earlier events.
 */
export async function redeliver(
  db: Db,
  endpoint: number,
  delivery: string,
): Promise<RedeliverResult> {
  const { rows } = await sql`
    update webhook_deliveries d
    -- A delivered or failed one's next_attempt_at is its last lease, in the past: due now.
    set status = 'pending',
      next_attempt_at = case when d.status = 'pending' then least(d.next_attempt_at, now())
                             else now() end,
      redelivered_at = now()
    where d.id = ${delivery} and d.endpoint_id = ${endpoint}
      and coalesce(d.last_attempt_at <= now() - ${lease}, true)
      and coalesce(d.redelivered_at <= now() - ${lease}, true)
    returning d.id
  `.execute(db)
  const found = await findDelivery(db, endpoint, delivery)
  if (!found) return { kind: 'not-found' }
  if (rows.length > 0) return { kind: 'redelivered', delivery: found }
  const { rows: why } = await sql<{ on_its_way: boolean; tried: boolean }>`
    select ${mayBeOnItsWay} as on_its_way,
      coalesce(d.last_attempt_at > now() - ${lease}, false) as tried
    from webhook_deliveries d where d.id = ${delivery}
  `.execute(db)
  const reason = why[0]?.on_its_way ? 'on-its-way' : why[0]?.tried ? 'tried' : 'asked'
  return { kind: 'too-soon', why: reason, delivery: found }
}

/** A redelivered delivery: its id and its status now. */
export type Redelivered = { id: string; status: Delivery['status'] }

/**
 * The endpoint's delivery `id` (decimal text, as typed in a page's query) with its status, if it
 * was ever redelivered; undefined when it is another endpoint's, not there, or never redelivered.
 * The endpoint page's "will be sent again" notice names only such a one (page-notices.ts).
 */
export async function redeliveredStatus(
  db: Db,
  endpoint: number,
  id: string,
): Promise<Redelivered | undefined> {
  const delivery = /^[0-9]{1,19}$/.test(id) ? deliveryId(id) : undefined
  if (delivery === undefined) return undefined
  const { rows } = await sql<{ status: Delivery['status'] }>`
    select status from webhook_deliveries
    where id = ${delivery} and endpoint_id = ${endpoint} and redelivered_at is not null
  `.execute(db)
  const row = rows[0]
  return row && { id: delivery, status: row.status }
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
