/**
 * Recording what an attempt got: the statements that write a delivery's outcome while it is
 * still under the attempt's lease (recordAttempt for one, recordDelivered for many successes in
 * one statement), with the retry policy that decides when a failure is tried again, given up, or
 * disables its endpoint. An attempt whose lease has passed to another writes nothing ('stale').
 * The leases themselves are taken and handed back in leases.ts.
 */
import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/schema.ts'
import { backoffMs } from './backoff.ts'
import type { AttemptResult } from './deliver.ts'
import type { ClaimedDelivery } from './leases.ts'

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

const units = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
] as const

/** `3 days`, `5 seconds`: a span in milliseconds, in the largest whole unit that fits (rounded). */
function spanText(ms: number): string {
  const [unit, size] = units.find(([, size]) => ms >= size) ?? units[3]
  const n = Math.max(1, Math.round(ms / size))
  return `${n} ${unit}${n === 1 ? '' : 's'}`
}

/**
 * Why the dispatcher disabled an endpoint, as `disabled_reason` stores it and the API's
 * `disabledReason` gives it: `every delivery failed for 3 days, with no 2xx; re-enable it once it
 * answers`. No time in it: since when it has failed is the endpoint's `failing_since` (the API's
 * `failingSince`), which the pages show as they show every time (src/time.ts).
 */
export const disabledReason = (policy: RetryPolicy) =>
  `every delivery failed for ${spanText(policy.disableAfterMs)}, with no 2xx; re-enable it once it answers`

/**
 * The wait a failed attempt's receiver asked for (its 429's or 503's `Retry-After`, deliver.ts),
 * bounded, in milliseconds; undefined when it asked for none (the backoff alone then). The bound
 * is the retry window: a delivery is never kept past it for a receiver's sake, so a wait that
 * ends after the window's end (created_at + windowMs) gives the delivery up at once (recordAttempt),
 * whether it asks for an hour too many or for years. Any wait longer than the whole window does
 * that, so waits are cut to windowMs + 1 s before they reach the database: `Retry-After:
 * 99999999999999999999` is the same as a day and a second, and no interval overflows.
 */
function askedWaitMs(result: AttemptResult, policy: RetryPolicy): number | undefined {
  if (result.ok || result.retryAfterMs === undefined) return undefined
  return Math.min(result.retryAfterMs, policy.windowMs + 1000)
}

/** Appended to last_error when a Retry-After gave a delivery up before its window's end. */
const pastWindow = "; given up: the wait it asks for ends after the delivery's retry window"

/** What recording an attempt did. `stale`: the lease had passed to another attempt; nothing written. */
export type Recorded = 'delivered' | 'retry' | 'failed' | 'stale'

/**
 * Writes an attempt's outcome, in one statement, if the delivery is still under this attempt's
 * lease (same `attempts`, still pending; otherwise another dispatcher took it after the lease
 * ran out, and its outcome counts). A 2xx: delivered, and the endpoint's failing_since cleared.
 * Otherwise the next try after a full-jitter backoff, or `failed` once the retry window since
 * the delivery was made has passed. A 429 or 503 whose `Retry-After` asked for a wait
 * (`retryAfterMs`) waits at least that long (the longer of it and the backoff: the wait is the
 * receiver's minimum, and the backoff still grows, so `Retry-After: 0` on every answer does not
 * make the dispatcher hammer the receiver); a wait that ends after the retry window's end gives the
 * delivery up now (`failed`, its last error saying why: askedWaitMs), since no try the receiver
 * accepts is left in the window. The endpoint's failing_since is set if it was not, and the
 * endpoint disabled (enabled = false, disabled_reason: disabledReason; failing_since kept, as
 * when it began) once it has been failing for `disableAfterMs`. The endpoint row is only written when one of those changes.
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
  const asked = askedWaitMs(result, policy)
  const waitSeconds = Math.max(backoffMs(delivery.attempts, policy, random), asked ?? 0) / 1000
  const windowEnd = sql`created_at + make_interval(secs => ${policy.windowMs / 1000})`
  // The next try the receiver asked for; null (no Retry-After) compares as not past the window.
  const askedTry = sql`now() + make_interval(secs => ${asked === undefined ? null : asked / 1000}::float8)`
  const disableAfter = sql`make_interval(secs => ${policy.disableAfterMs / 1000})`
  const { rows } = await sql<{ status: string; disabled: boolean }>`
    with d as (
      update webhook_deliveries
      set status = case when now() >= ${windowEnd} or ${askedTry} > ${windowEnd}
                        then 'failed' else 'pending' end,
          next_attempt_at = now() + make_interval(secs => ${waitSeconds}),
          last_response_status = ${status},
          last_error = case when now() < ${windowEnd} and ${askedTry} > ${windowEnd}
                            then ${result.error}::text || ${pastWindow}::text else ${result.error} end
      where id = ${delivery.id} and attempts = ${delivery.attempts} and status = 'pending'
      returning endpoint_id, status
    ), e as (
      update webhook_endpoints
      set failing_since = coalesce(failing_since, now()),
          enabled = failing_since is null or failing_since > now() - ${disableAfter},
          disabled_reason = case when failing_since <= now() - ${disableAfter}
            then ${disabledReason(policy)}::text end,
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
