/**
 * The background webhook dispatcher of one instance: its loop and lifecycle. Each pass fans out
 * new events (fan-out.ts) and claims due deliveries under a lease (leases.ts) side by side; the
 * claimed ones go to the send queue (send-queue.ts), which sends them and records the outcomes
 * (outcomes.ts, delivered-batches.ts). The plugin that starts it with the app is
 * dispatcher-plugin.ts.
 */
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { startPollLoop } from '../plugins/poll-loop.ts'
import type { UrlCheck } from './deliver.ts'
import { fanOut } from './fan-out.ts'
import { claimDue, defaultLeaseMs } from './leases.ts'
import { defaultRetryPolicy, type RetryPolicy } from './outcomes.ts'
import { type OnAttempt, type SendCounts, sendQueue } from './send-queue.ts'

/** What this process's dispatcher has done since it started (several instances: its share). */
export interface DispatcherStats extends SendCounts {
  /** Events fanned out into deliveries. */
  fannedOut: number
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
  /** How long a taken delivery is reserved for its send: 30 s (more than timeoutMs), at most defaultLeaseMs. */
  leaseMs?: number
  /**
   * On stop, how long sends in flight may finish before they are abandoned: 5 s (the plugin
   * gives sendsGraceMs, the same for both, src/plugins/stop-together.ts).
   */
  stopGraceMs?: number
  retry?: Partial<RetryPolicy>
  /** The URL policy, run before every attempt. */
  check: UrlCheck
  allowLocal: boolean
  /**
   * A poll (or recording an outcome) failed. Polls failing in a row are retried later and
   * later, up to every 5 s (retryDelayMs in src/plugins/outage-log.ts).
   */
  onError: (err: unknown) => void
  /** A poll succeeded (the plugin ends an outage it logged). */
  onSuccess?: () => void
  /** Each attempt's outcome (the plugin logs failures; never the secret or the body). */
  onAttempt?: OnAttempt
}

export interface Dispatcher {
  readonly stats: Readonly<DispatcherStats>
  /** Wakes the loop now (a test that just wrote outbox rows, say). */
  poke(): void
  /** Stops polling; sends in flight get stopGraceMs to finish, then are abandoned. */
  stop(): Promise<void>
}

/**
 * The background dispatcher of one instance: fans out new events, takes due deliveries in
 * batches (one statement each), sends them outside any transaction with at most `concurrency`
 * in flight, and records the outcomes (successes together, one statement for all that finished
 * meanwhile). It polls every `pollMs` when idle, and again at once while there is more to do (a
 * full fan-out batch, or a full claim once half its room is free again).
 *
 * Taken deliveries wait in memory for a send slot, never more than can be sent within their
 * lease (send-queue.ts says how).
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
    leaseMs = defaultLeaseMs,
    stopGraceMs = 5000,
    check,
    allowLocal,
    onError,
    onSuccess = () => {},
    onAttempt = () => {},
  } = options
  // A longer lease would outlast the window in which an admin's redeliver or enable leaves a
  // delivery alone as possibly on its way (deliveries.ts): it could then be sent twice at once.
  if (leaseMs > defaultLeaseMs) throw new RangeError(`lease ${leaseMs} ms > ${defaultLeaseMs} ms`)
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...options.retry }
  const stats: DispatcherStats = {
    delivered: 0,
    retried: 0,
    failed: 0,
    fannedOut: 0,
    inFlight: 0,
    pollFailures: 0,
  }

  const sends = sendQueue(db, {
    concurrency,
    timeoutMs,
    leaseMs,
    policy,
    check,
    allowLocal,
    counts: stats,
    onError,
    onAttempt,
    // Called when a send ends: sends are taken in a pass of `loop`, so it is set by then.
    onRoom: () => loop.poke(),
  })

  const loop = startPollLoop({
    pollMs,
    async pass(more) {
      // The fan-out and the claim side by side, on two connections: one wait for both. The
      // claim does not see the deliveries this fan-out makes (the next pass takes them), and
      // holds back a later event of an order while an earlier one is still being fanned out
      // (not yet committed), as it does for another instance's fan-out.
      const room = sends.room()
      const leasedUntil = Date.now() + leaseMs
      const [fanned, claimed] = await Promise.allSettled([
        fanOut(db, fanOutBatch, { emails }),
        room >= sends.minClaim ? claimDue(db, room, leaseMs) : Promise.resolve(undefined),
      ])
      // What was taken is sent even when the fan-out failed: its leases are held.
      if (claimed.status === 'fulfilled' && claimed.value) {
        sends.take(claimed.value, room, leasedUntil)
      }
      // A full fan-out batch: more events wait, go again at once (even when the claim failed).
      // Otherwise the loop naps until the poll interval or a poke: a finished send pokes once
      // half the room is free after a full claim; a poke during a pass makes the next nap
      // return at once.
      if (fanned.status === 'fulfilled') {
        stats.fannedOut += fanned.value
        if (fanned.value === fanOutBatch) more()
      }
      for (const r of [fanned, claimed]) if (r.status === 'rejected') throw r.reason
    },
    counts: stats,
    onError,
    onSuccess,
  })

  return {
    stats,
    poke: loop.poke,
    async stop() {
      // The grace counts from now, not from the end of the pass under way.
      const graceEnds = performance.now() + stopGraceMs
      sends.close()
      await loop.stop()
      await sends.drain(Math.max(0, graceEnds - performance.now()))
    },
  }
}
