/**
 * Claiming and handing back deliveries: the statements that take due deliveries under a lease
 * (claimDue) and give leases back (releaseLease, releaseLeases). The lease is what lets sends
 * happen outside any transaction and several instances dispatch from one table: a delivery
 * taken by one is not taken by another until its lease runs out (at least once, never two sends
 * of one attempt at the same time). The dispatcher (dispatcher.ts) and its send queue
 * (send-queue.ts) call these; recording an attempt's outcome is outcomes.ts.
 */
import { type Kysely, sql } from 'kysely'
import type pg from 'pg'
import { PLAN_EACH_RUN, poolOf } from '../db/connect.ts'
import type { Database } from '../db/schema.ts'

/**
 * How long a taken delivery is reserved for its send: 30 s (more than the send's 10 s timeout).
 * A dispatcher may be given less (tests), never more: the admin's redeliver and enable treat a
 * delivery tried within this as possibly on its way (deliveries.ts).
 */
export const defaultLeaseMs = 30_000

/** A delivery taken by claimDue, with what sending it needs. */
export interface ClaimedDelivery {
  id: string
  endpointId: number
  /** outbox.id */
  eventId: string
  /** This attempt's number (1 for the first). */
  attempts: number
  /**
   * `previousSecret`: the secret the latest rotation replaced, while it still signs (its
   * overlap window, by the database's clock at the claim); null otherwise (secret-rotation.ts).
   */
  endpoint: { url: string; secret: string; previousSecret: string | null }
  /** publicId: outbox.public_id; dataJson: the payload's JSON text (deliver.ts's OutgoingEvent). */
  event: { publicId: string; type: string; createdAt: Date; dataJson: string }
}

/** A claimed row as the claim statement answers it. */
interface ClaimedRow {
  id: string
  endpoint_id: number
  event_id: string
  attempts: number
  url: string
  secret: string
  previous_secret: string | null
  public_id: string
  event_type: string
  event_created_at: Date | string
  payload: string
}

/**
 * Takes up to `limit` due deliveries and leases them in ONE statement: the sends happen outside
 * any transaction. Due: pending, `next_attempt_at` reached, endpoint enabled, and nothing
 * earlier of the same order still on its way to the same endpoint, i.e. no pending delivery of
 * an earlier event of that order to that endpoint (in flight or waiting for a retry) and no
 * earlier event of that order still waiting to be fanned out. So an order's events reach an
 * endpoint in the order they happened, across retries and instances.
 *
 * The lease: attempts + 1 and `next_attempt_at` = now + `leaseMs`, so no other dispatcher takes
 * the row while it is being sent (`FOR UPDATE SKIP LOCKED` covers the moment of taking; the
 * lease covers the send). When a process dies mid-send, the lease runs out and the delivery is
 * taken again: at least once. `leaseMs` must exceed the send timeout. Answers the deliveries in
 * event order.
 *
 * On PostgreSQL the claim is one round trip: the plan settings and the statement go together
 * as one simple-protocol query, which PostgreSQL runs as one transaction (set_config's `true`:
 * until its end), planning the claim after the settings are made. A transaction of its own
 * (BEGIN, SET, the claim, COMMIT) took four round trips per claim, and the dispatcher made one
 * claim for every few deliveries. On PGlite (one connection in this process) a transaction.
 */
export async function claimDue(
  db: Kysely<Database>,
  limit: number,
  leaseMs: number,
): Promise<ClaimedDelivery[]> {
  const claim = claimStatement(limit, leaseMs).compile(db).sql
  const pool = poolOf(db)
  let rows: ClaimedRow[]
  if (pool) {
    // No parameters: pg sends it by the simple protocol, which allows several statements.
    // (Through a client: the pool's own query passes a callback, which the service's clients'
    // query wrapper, prepareStatements, does not take.)
    const client = await pool.connect()
    try {
      const results = (await client.query(
        `${PLAN_EACH_RUN} ${planSettings}; ${claim}`,
      )) as unknown as pg.QueryResult<ClaimedRow>[]
      rows = results.at(-1)?.rows ?? []
    } finally {
      client.release()
    }
  } else {
    rows = await db.transaction().execute(async (trx) => {
      await sql.raw(planSettings).execute(trx)
      return (await sql.raw<ClaimedRow>(claim).execute(trx)).rows
    })
  }
  return rows.map((r) => ({
    id: String(r.id),
    endpointId: r.endpoint_id,
    eventId: String(r.event_id),
    attempts: r.attempts,
    endpoint: { url: r.url, secret: r.secret, previousSecret: r.previous_secret },
    event: {
      publicId: r.public_id,
      type: r.event_type,
      createdAt: new Date(r.event_created_at),
      dataJson: r.payload,
    },
  }))
}

// Walk the due index in next_attempt_at order and stop at the limit. Left to itself the planner
// (no statistics on a young table, or a tiny one) takes a bitmap scan of every due row, checks
// each against the ordering rules, then sorts: a claim's cost grows with the backlog (with 5,000
// due rows a claim of 8 took 40-140 ms; 3-4 ms walking the index, on a loaded 2-core VM).
//
// For the same reason no hash or merge join: with the young table's guess of a few due rows, the
// planner hashed the not-fanned-out outbox rows for the anti join, which reads every due row
// before the sort and the limit: a claim of 8 took 100-220 ms with 10,000 due (a backlog that
// then only grew, under order load), 10-25 ms walking the index with nested loops.
// Local to the claim's transaction (test/webhooks/claim-plan.test.ts).
const planSettings = `select set_config('enable_bitmapscan', 'off', true),
  set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`

/** The claim, its numbers written into the text (integers of ours: no parameters to bind). */
function claimStatement(limit: number, leaseMs: number) {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`claim limit ${limit}`)
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1) throw new RangeError(`lease ${leaseMs} ms`)
  return sql<ClaimedRow>`
    with due as materialized (
      select d.id from webhook_deliveries d
      where d.status = 'pending' and d.next_attempt_at <= now()
        and exists (select from webhook_endpoints e where e.id = d.endpoint_id and e.enabled)
        and not exists (
          select from webhook_deliveries p
          where p.endpoint_id = d.endpoint_id and p.order_id = d.order_id
            and p.status = 'pending' and p.order_id is not null and p.event_id < d.event_id
        )
        and not exists (
          select from outbox o
          where o.order_id = d.order_id and o.id < d.event_id and o.fanned_out_at is null
        )
      order by d.next_attempt_at
      limit ${sql.lit(limit)}
      for update of d skip locked
    ), taken as (
      update webhook_deliveries d
      set attempts = d.attempts + 1,
          last_attempt_at = now(),
          next_attempt_at = now() + make_interval(secs => ${sql.lit(leaseMs / 1000)})
      from due where d.id = due.id
      returning d.id, d.endpoint_id, d.event_id, d.attempts
    )
    select t.id::text as id, t.endpoint_id, t.event_id::text as event_id, t.attempts,
           e.url, e.secret,
           case when e.previous_secret_until > now() then e.previous_secret end as previous_secret,
           o.public_id::text as public_id, o.event_type,
           o.created_at as event_created_at,
           o.payload::text as payload
    from taken t
    join webhook_endpoints e on e.id = t.endpoint_id
    join outbox o on o.id = t.event_id
    order by t.event_id
  `
}

/**
 * Hands a leased delivery back at once (the dispatcher stopped mid-send): due now, for any
 * instance; the attempt still counts in `attempts`. Returns whether the lease was still ours.
 */
export async function releaseLease(
  db: Kysely<Database>,
  delivery: Pick<ClaimedDelivery, 'id' | 'attempts'>,
): Promise<boolean> {
  return (await releaseLeases(db, [delivery], { sent: true })).size > 0
}

/**
 * Hands leased deliveries back at once, in one statement: due now, for any instance. `sent`:
 * their sends were cut (the dispatcher stopped), the attempts still count; otherwise they were
 * never sent (taken, then the dispatcher stopped or their lease ran short before a send slot
 * came free) and `attempts` goes back down by one. Only rows still under these leases change;
 * answers their ids.
 */
export async function releaseLeases(
  db: Kysely<Database>,
  deliveries: readonly Pick<ClaimedDelivery, 'id' | 'attempts'>[],
  { sent }: { sent: boolean },
): Promise<Set<string>> {
  if (deliveries.length === 0) return new Set()
  const { rows } = await sql<{ id: string }>`
    update webhook_deliveries d
    set next_attempt_at = now(),
        attempts = d.attempts - ${sent ? 0 : 1},
        last_error = ${sent ? 'abandoned: the dispatcher stopped' : 'not sent: handed back unsent'}
    from unnest(${deliveries.map((x) => x.id)}::bigint[],
                ${deliveries.map((x) => x.attempts)}::int[]) as v(id, attempts)
    where d.id = v.id and d.attempts = v.attempts and d.status = 'pending'
    returning d.id::text as id
  `.execute(db)
  return new Set(rows.map((r) => r.id))
}
