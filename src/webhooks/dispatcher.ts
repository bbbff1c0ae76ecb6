import { type Kysely, sql } from 'kysely'
import type pg from 'pg'
import { PLAN_EACH_RUN, poolOf } from '../db/connect.ts'
import type { Database } from '../db/schema.ts'
import { backoffMs } from './backoff.ts'
import { Agents, type AttemptResult, attemptDelivery, type UrlCheck } from './deliver.ts'
import { fanOut } from './fan-out.ts'

/** A delivery taken by claimDue, with what sending it needs. */
export interface ClaimedDelivery {
  id: string
  endpointId: number
  /** outbox.id */
  eventId: string
  /** This attempt's number (1 for the first). */
  attempts: number
  endpoint: { url: string; secret: string }
  event: { id: string; type: string; createdAt: Date; data: unknown }
}

/** A claimed row as the claim statement answers it. */
interface ClaimedRow {
  id: string
  endpoint_id: number
  event_id: string
  attempts: number
  url: string
  secret: string
  event_type: string
  event_created_at: Date | string
  payload: unknown
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
    endpoint: { url: r.url, secret: r.secret },
    event: {
      id: String(r.event_id),
      type: r.event_type,
      createdAt: new Date(r.event_created_at),
      data: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload,
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
           e.url, e.secret, o.event_type, o.created_at as event_created_at, o.payload
    from taken t
    join webhook_endpoints e on e.id = t.endpoint_id
    join outbox o on o.id = t.event_id
    order by t.event_id
  `
}

/** How long failures are retried, and when a failing endpoint is disabled. Milliseconds. */
export interface RetryPolicy {
  /** First retry's ceiling (full jitter below it), doubled each failure: 5 s. */
  baseMs: number
  /** Largest wait between attempts: 1 h. */
  capMs: number
  /** Retries stop this long after the delivery was made (its event fanned out): 24 h. */
  windowMs: number
  /** An endpoint whose failures began this long ago with no 2xx since is disabled: 3 days. */
  disableAfterMs: number
}

export const defaultRetryPolicy: RetryPolicy = {
  baseMs: 5000,
  capMs: 3_600_000,
  windowMs: 24 * 3_600_000,
  disableAfterMs: 3 * 24 * 3_600_000,
}

/** What recording an attempt did. `stale`: the lease had passed to another attempt; nothing written. */
export type Recorded = 'delivered' | 'retry' | 'failed' | 'stale'

/**
 * Writes an attempt's outcome, in one statement, if the delivery is still under this attempt's
 * lease (same `attempts`, still pending; otherwise another dispatcher took it after the lease
 * ran out, and its outcome counts). A 2xx: delivered, and the endpoint's failing_since cleared.
 * Otherwise the next try after a full-jitter backoff, or `failed` once the retry window since
 * the delivery was made has passed; the endpoint's failing_since is set if it was not, and the
 * endpoint disabled (enabled = false, disabled_reason) once it has been failing for
 * `disableAfterMs`. The endpoint row is only written when one of those changes.
 *
 * A redelivered row (set back to pending by an admin) whose window has passed gets one attempt:
 * its failure marks it failed again.
 */
export async function recordAttempt(
  db: Kysely<Database>,
  delivery: Pick<ClaimedDelivery, 'id' | 'attempts'>,
  result: AttemptResult,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Promise<{ recorded: Recorded; endpointDisabled: boolean }> {
  const status = result.status
  if (result.ok) {
    const { rows } = await sql<{ status: string }>`
      with d as (
        update webhook_deliveries
        set status = 'delivered', delivered_at = now(), last_response_status = ${status},
            last_error = null
        where id = ${delivery.id} and attempts = ${delivery.attempts} and status = 'pending'
        returning endpoint_id, status
      ), e as (
        update webhook_endpoints set failing_since = null
        where id = (select endpoint_id from d) and failing_since is not null
      )
      select status from d
    `.execute(db)
    return { recorded: rows.length > 0 ? 'delivered' : 'stale', endpointDisabled: false }
  }
  const waitSeconds = backoffMs(delivery.attempts, policy, random) / 1000
  const disableAfter = sql`make_interval(secs => ${policy.disableAfterMs / 1000})`
  const { rows } = await sql<{ status: string; disabled: boolean }>`
    with d as (
      update webhook_deliveries
      set status = case when now() >= created_at + make_interval(secs => ${policy.windowMs / 1000})
                        then 'failed' else 'pending' end,
          next_attempt_at = now() + make_interval(secs => ${waitSeconds}),
          last_response_status = ${status},
          last_error = ${result.error}
      where id = ${delivery.id} and attempts = ${delivery.attempts} and status = 'pending'
      returning endpoint_id, status
    ), e as (
      update webhook_endpoints
      set failing_since = coalesce(failing_since, now()),
          enabled = failing_since is null or failing_since > now() - ${disableAfter},
          disabled_reason = case when failing_since <= now() - ${disableAfter}
            then 'every delivery failed since ' || to_char(failing_since at time zone 'UTC',
                 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ', with no 2xx since; re-enable it once it answers'
            end,
          updated_at = case when failing_since <= now() - ${disableAfter} then now() else updated_at end
      where id = (select endpoint_id from d)
        and (failing_since is null or (enabled and failing_since <= now() - ${disableAfter}))
      returning enabled
    )
    select d.status, coalesce((select not enabled from e), false) as disabled from d
  `.execute(db)
  const row = rows[0]
  if (!row) return { recorded: 'stale', endpointDisabled: false }
  return { recorded: row.status === 'failed' ? 'failed' : 'retry', endpointDisabled: row.disabled }
}

/** One successful attempt to record: the delivery, its lease (`attempts`) and the 2xx it got. */
export interface DeliveredAttempt {
  id: string
  attempts: number
  status: number
}

/**
 * Records many successful attempts in ONE statement (one commit for all, instead of one per
 * delivery): each delivery still under its attempt's lease (same `attempts`, still pending)
 * becomes delivered with its status, and the endpoints' failing_since is cleared. Returns the
 * ids recorded; a delivery missing from it was stale (its lease had passed to another attempt,
 * whose outcome counts), as recordAttempt's 'stale'.
 */
export async function recordDelivered(
  db: Kysely<Database>,
  attempts: readonly DeliveredAttempt[],
): Promise<Set<string>> {
  if (attempts.length === 0) return new Set()
  const { rows } = await sql<{ id: string }>`
    with v as (
      select * from unnest(${attempts.map((a) => a.id)}::bigint[],
                           ${attempts.map((a) => a.attempts)}::int[],
                           ${attempts.map((a) => a.status)}::int[]) as v(id, attempts, status)
    ), d as (
      update webhook_deliveries d
      set status = 'delivered', delivered_at = now(), last_response_status = v.status,
          last_error = null
      from v
      where d.id = v.id and d.attempts = v.attempts and d.status = 'pending'
      returning d.id, d.endpoint_id
    ), e as (
      update webhook_endpoints set failing_since = null
      where id in (select endpoint_id from d) and failing_since is not null
    )
    select id::text as id from d
  `.execute(db)
  return new Set(rows.map((r) => r.id))
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

/** What this process's dispatcher has done since it started (several instances: its share). */
export interface DispatcherStats {
  /** Deliveries that got a 2xx. */
  delivered: number
  /** Failed attempts that will be tried again. */
  retried: number
  /** Deliveries given up after the retry window. */
  failed: number
  /** Events fanned out into deliveries. */
  fannedOut: number
  /** Sends in flight now. */
  inFlight: number
  /** Polls that failed (the database did not answer; retried at the next poll). */
  pollFailures: number
}

export interface DispatcherOptions {
  /** Pause between polls when there was nothing (more) to do. */
  pollMs: number
  /**
   * Sends in flight at most: 64, and as many kept connections per endpoint address at most.
   * Sends wait on the receiver and on other processes far more than they use the CPU (on a
   * loaded 2-core VM a send took ~100 ms): 16 in flight could not keep up with 400 events/s.
   */
  concurrency?: number
  /** Events fanned out per statement. */
  fanOutBatch?: number
  /** The fan-out also queues the shopper e-mails (mail is on; see fanOut). */
  emails?: boolean
  /** A 2xx must come within this: 10 s. */
  timeoutMs?: number
  /** How long a taken delivery is reserved for its send: 30 s (more than timeoutMs). */
  leaseMs?: number
  /** On stop, how long sends in flight may finish before they are abandoned. */
  stopGraceMs?: number
  retry?: Partial<RetryPolicy>
  /** The URL policy, run before every attempt. */
  check: UrlCheck
  allowLocal: boolean
  onError: (err: unknown) => void
  /** Each attempt's outcome (the plugin logs failures; never the secret or the body). */
  onAttempt?: (
    delivery: ClaimedDelivery,
    result: AttemptResult,
    recorded: { recorded: Recorded; endpointDisabled: boolean },
  ) => void
}

export interface Dispatcher {
  readonly stats: Readonly<DispatcherStats>
  /** Wakes the loop now (a test that just wrote outbox rows, say). */
  poke(): void
  /** Stops polling; sends in flight get stopGraceMs to finish, then are abandoned. */
  stop(): Promise<void>
}

/** A URL check made once per endpoint URL for the deliveries of one claim. */
function checkedOnce(check: UrlCheck): UrlCheck {
  const verdicts = new Map<string, ReturnType<UrlCheck>>()
  return (url, options) => {
    let verdict = verdicts.get(url)
    if (!verdict) {
      verdict = check(url, options)
      verdicts.set(url, verdict)
    }
    return verdict
  }
}

/**
 * The background dispatcher of one instance: fans out new events, takes due deliveries in
 * batches (one statement each), sends them outside any transaction with at most `concurrency`
 * in flight, and records the outcomes (successes together, one statement for all that finished
 * meanwhile). It polls every `pollMs` when idle, and again at once while there is more to do (a
 * full fan-out batch, or a full claim once half its room is free again).
 *
 * Taken deliveries wait in memory for a send slot. So that none is sent after its lease could
 * run out (another instance would then take it: two sends at once), at most as many are taken
 * as can all be sent within the lease (`concurrency` × the number of whole send timeouts that fit
 * in the lease, less a margin), and each is sent only if its lease outlasts its send's timeout
 * by the margin; one that does not is handed back unsent. The URL policy is run once per
 * endpoint for the deliveries of one claim, just before the first of them is sent.
 *
 * stop() hands back what was taken but not sent, lets sends in flight finish for `stopGraceMs`,
 * then abandons them and hands their leases back (due at once, for any instance).
 */
export function startDispatcher(db: Kysely<Database>, options: DispatcherOptions): Dispatcher {
  const {
    pollMs,
    concurrency = 64,
    fanOutBatch = 1000,
    emails = false,
    timeoutMs = 10_000,
    leaseMs = 30_000,
    stopGraceMs = 5000,
    check,
    allowLocal,
    onError,
    onAttempt = () => {},
  } = options
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...options.retry }
  const stats: DispatcherStats = {
    delivered: 0,
    retried: 0,
    failed: 0,
    fannedOut: 0,
    inFlight: 0,
    pollFailures: 0,
  }
  // Longest a success waits for the sends still in flight before it is recorded.
  const recordDelayMs = 20
  const agents = new Agents(concurrency)
  const abandon = new AbortController()
  const inFlight = new Set<Promise<void>>()
  // Taken, waiting for a send slot: each with the time its lease runs out on this clock (read
  // before the claim was sent, so never later than the database's).
  const queue: { delivery: ClaimedDelivery; leasedUntil: number; check: UrlCheck }[] = []
  const marginMs = Math.min(2000, leaseMs / 10)
  const maxTaken = concurrency * Math.max(1, Math.floor((leaseMs - marginMs) / timeoutMs))
  // Claims of at least half the room: one statement for many sends.
  const minClaim = Math.ceil(maxTaken / 2)
  // Sends under way (URL check, signing, the HTTP exchange): what `concurrency` bounds. A send's
  // slot is free once its answer is in, before its outcome is written: on a loaded machine the
  // write waits its turn for tens of milliseconds, which held a slot idle as long again.
  let sending = 0
  const taken = () => queue.length + sending
  let moreDue = false
  let stopped = false
  let wake: (() => void) | undefined
  let woken = false

  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) {
        woken = false
        return resolve()
      }
      const done = () => {
        clearTimeout(timer)
        wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      wake = done
    })
  const poke = () => {
    if (wake) wake()
    else woken = true
  }

  // Successes are recorded together, as group commit does: while one recordDelivered statement
  // runs, the sends finishing meanwhile queue up and go in the next. One commit a delivery (a
  // WAL flush each) held the dispatcher to ~100 deliveries/s on a loaded 2-core VM, far below
  // the order rate. The first success waits for the other sends in flight to finish too (or
  // half the slots' worth of successes, or recordDelayMs), so a claim's sends are mostly
  // recorded by one statement, not a few each.
  let toRecord: { attempt: DeliveredAttempt; settle: (r: Recorded | Error) => void }[] = []
  let recording = false
  let recordTimer: NodeJS.Timeout | undefined
  const recordSoon = () => {
    if (recording) return
    if (sending === 0 || toRecord.length >= concurrency / 2) {
      clearTimeout(recordTimer)
      recordTimer = undefined
      void flushRecords()
    } else recordTimer ??= setTimeout(() => void flushRecords(), recordDelayMs)
  }
  const flushRecords = async () => {
    clearTimeout(recordTimer)
    recordTimer = undefined
    if (recording) return
    recording = true
    while (toRecord.length > 0) {
      const batch = toRecord
      toRecord = []
      try {
        const done = await recordDelivered(
          db,
          batch.map((b) => b.attempt),
        )
        for (const b of batch) b.settle(done.has(b.attempt.id) ? 'delivered' : 'stale')
      } catch (err) {
        for (const b of batch) b.settle(err as Error)
      }
    }
    recording = false
  }
  const recordOk = (delivery: ClaimedDelivery, status: number) =>
    new Promise<Recorded>((resolve, reject) => {
      toRecord.push({
        attempt: { id: delivery.id, attempts: delivery.attempts, status },
        settle: (r) => (r instanceof Error ? reject(r) : resolve(r)),
      })
      recordSoon()
    })

  const handBack = (deliveries: ClaimedDelivery[]) =>
    releaseLeases(db, deliveries, { sent: false }).catch(onError)

  const send = (delivery: ClaimedDelivery, checkUrl: UrlCheck) => {
    const task = (async () => {
      sending++
      let result: AttemptResult
      try {
        result = await attemptDelivery(delivery.endpoint, delivery.event, {
          check: checkUrl,
          allowLocal,
          timeoutMs,
          signal: abandon.signal,
          agents,
        })
      } finally {
        sending--
        // The last send of a batch finishing lets the successes waiting for it be recorded.
        if (sending === 0 && toRecord.length > 0) recordSoon()
        pump()
        // The last claim was full, so more are due: take them once half the room is free.
        if (!stopped && moreDue && maxTaken - taken() >= minClaim) poke()
      }
      if (!result.ok && abandon.signal.aborted) {
        await releaseLease(db, delivery)
        return
      }
      const recorded = result.ok
        ? { recorded: await recordOk(delivery, result.status), endpointDisabled: false }
        : await recordAttempt(db, delivery, result, policy)
      if (recorded.recorded === 'delivered') stats.delivered++
      else if (recorded.recorded === 'retry') stats.retried++
      else if (recorded.recorded === 'failed') stats.failed++
      onAttempt(delivery, result, recorded)
    })()
      .catch(onError)
      .finally(() => {
        inFlight.delete(task)
        stats.inFlight = inFlight.size
      })
    inFlight.add(task)
    stats.inFlight = inFlight.size
  }

  // Starts the taken deliveries' sends while slots are free, in the order they were taken.
  const pump = () => {
    const late: ClaimedDelivery[] = []
    while (!stopped && sending < concurrency && queue.length > 0) {
      const next = queue.shift() as (typeof queue)[number]
      if (Date.now() + timeoutMs + marginMs > next.leasedUntil) late.push(next.delivery)
      else send(next.delivery, next.check)
    }
    if (late.length > 0) void handBack(late)
  }

  const loop = async () => {
    while (!stopped) {
      let again = false
      try {
        // The fan-out and the claim side by side, on two connections: one wait for both. The
        // claim does not see the deliveries this fan-out makes (the next pass takes them), and
        // holds back a later event of an order while an earlier one is still being fanned out
        // (not yet committed), as it does for another instance's fan-out.
        const room = maxTaken - taken()
        const leasedUntil = Date.now() + leaseMs
        const [fanned, claimed] = await Promise.allSettled([
          fanOut(db, fanOutBatch, { emails }),
          room >= minClaim ? claimDue(db, room, leaseMs) : Promise.resolve(undefined),
        ])
        // What was taken is sent even when the fan-out failed: its leases are held.
        if (claimed.status === 'fulfilled' && claimed.value) {
          const due = claimed.value
          moreDue = due.length === room
          const checkUrl = checkedOnce(check)
          for (const delivery of due) queue.push({ delivery, leasedUntil, check: checkUrl })
          pump()
        }
        if (fanned.status === 'fulfilled') {
          stats.fannedOut += fanned.value
          again = fanned.value === fanOutBatch
        }
        for (const r of [fanned, claimed]) if (r.status === 'rejected') throw r.reason
      } catch (err) {
        stats.pollFailures++
        onError(err)
      }
      if (stopped) break
      // A full fan-out batch: more events wait, go again at once. Otherwise nap until the poll
      // interval or a poke: a finished send pokes once half the room is free after a full
      // claim; a poke during a pass makes the next nap return at once.
      if (again) await new Promise((r) => setImmediate(r))
      else await nap(pollMs)
    }
  }
  const running = loop()

  return {
    stats,
    poke,
    async stop() {
      stopped = true
      wake?.()
      await running
      const unsent = queue.splice(0).map((q) => q.delivery)
      const handedBack = handBack(unsent)
      const grace = setTimeout(() => abandon.abort(), stopGraceMs)
      await Promise.allSettled([...inFlight, handedBack])
      clearTimeout(grace)
      agents.destroy()
    },
  }
}
