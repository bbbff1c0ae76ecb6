/**
 * The dispatcher's sends: claimed deliveries wait here in memory for one of `concurrency` send
 * slots, are sent outside any transaction, and their outcomes recorded (successes in batches:
 * delivered-batches.ts; failures one by one: outcomes.ts).
 *
 * So that none is sent after its lease could run out (another instance would then take it: two
 * sends at once), at most as many are taken as can all be sent within the lease (`concurrency`
 * × the number of whole send timeouts that fit in the lease, less a margin: `room()`), and each
 * is sent only if its lease outlasts its send's timeout by the margin; one that does not is
 * handed back unsent. The URL policy is run once per endpoint for the deliveries of one claim,
 * just before the first of them is sent. The loop that claims is dispatcher.ts.
 */
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { Agents } from './agents.ts'
import { type AttemptResult, attemptDelivery, type UrlCheck } from './deliver.ts'
import { deliveredBatches } from './delivered-batches.ts'
import { type ClaimedDelivery, releaseLease, releaseLeases } from './leases.ts'
import { type Recorded, type RetryPolicy, recordAttempt } from './outcomes.ts'

/** The send queue's counts, part of the dispatcher's stats. */
export interface SendCounts {
  /** Deliveries that got a 2xx. */
  delivered: number
  /** Failed attempts that will be tried again. */
  retried: number
  /** Deliveries given up after the retry window. */
  failed: number
  /** Sends in flight now. */
  inFlight: number
}

/** Each attempt's outcome (the plugin logs failures; never the secret or the body). */
export type OnAttempt = (
  delivery: ClaimedDelivery,
  result: AttemptResult,
  recorded: { recorded: Recorded; endpointDisabled: boolean },
) => void

export interface SendQueueOptions {
  /** Sends in flight at most, and as many kept connections per endpoint address at most. */
  concurrency: number
  /** A 2xx must come within this. */
  timeoutMs: number
  /** How long a taken delivery is reserved for its send (more than timeoutMs). */
  leaseMs: number
  policy: RetryPolicy
  /** The URL policy, run before every attempt (once per endpoint URL for one claim). */
  check: UrlCheck
  allowLocal: boolean
  /** Counted into as sends finish. */
  counts: SendCounts
  onError: (err: unknown) => void
  onAttempt: OnAttempt
  /** After a full claim, called as sends finish once half the room is free: claim again. */
  onRoom: () => void
}

export interface SendQueue {
  /** How many deliveries may be claimed now. */
  room(): number
  /** Claims smaller than this wait (at least half the room: one statement for many sends). */
  readonly minClaim: number
  /** Queues a claim's deliveries (of `requested`), leased until `leasedUntil` on this clock. */
  take(due: ClaimedDelivery[], requested: number, leasedUntil: number): void
  /** Sends nothing more (synchronously, with the loop's stop). */
  close(): void
  /** Hands back what waits unsent, lets sends in flight finish for `graceMs`, then abandons them. */
  drain(graceMs: number): Promise<void>
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

export function sendQueue(db: Kysely<Database>, options: SendQueueOptions): SendQueue {
  const { concurrency, timeoutMs, leaseMs, policy, check, allowLocal, counts } = options
  const { onError, onAttempt, onRoom } = options
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
  // Longest a success waits for the sends still in flight before it is recorded: 20 ms.
  const delivered = deliveredBatches(db, { concurrency, sending: () => sending, delayMs: 20 })

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
        if (sending === 0) delivered.sendsDone()
        pump()
        // The last claim was full, so more are due: take them once half the room is free.
        if (!stopped && moreDue && maxTaken - taken() >= minClaim) onRoom()
      }
      if (!result.ok && abandon.signal.aborted) {
        await releaseLease(db, delivery)
        return
      }
      const recorded = result.ok
        ? { recorded: await delivered.record(delivery, result.status), endpointDisabled: false }
        : await recordAttempt(db, delivery, result, policy)
      if (recorded.recorded === 'delivered') counts.delivered++
      else if (recorded.recorded === 'retry') counts.retried++
      else if (recorded.recorded === 'failed') counts.failed++
      onAttempt(delivery, result, recorded)
    })()
      .catch(onError)
      .finally(() => {
        inFlight.delete(task)
        counts.inFlight = inFlight.size
      })
    inFlight.add(task)
    counts.inFlight = inFlight.size
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

  return {
    room: () => maxTaken - taken(),
    minClaim,
    take(due, requested, leasedUntil) {
      moreDue = due.length === requested
      const checkUrl = checkedOnce(check)
      for (const delivery of due) queue.push({ delivery, leasedUntil, check: checkUrl })
      pump()
    },
    close() {
      stopped = true
    },
    async drain(graceMs) {
      const unsent = queue.splice(0).map((q) => q.delivery)
      const handedBack = handBack(unsent)
      const grace = setTimeout(() => abandon.abort(), graceMs)
      await Promise.allSettled([...inFlight, handedBack])
      clearTimeout(grace)
      agents.destroy()
    },
  }
}
