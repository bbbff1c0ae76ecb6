/**
 * Successes recorded together, as group commit does: while one recordDelivered statement runs,
 * the sends finishing meanwhile queue up and go in the next. One commit a delivery (a WAL flush
 * each) held the dispatcher to ~100 deliveries/s on a loaded 2-core VM, far below the order
 * rate. The first success waits for the other sends in flight to finish too (or half the slots'
 * worth of successes, or `delayMs`), so a claim's sends are mostly recorded by one statement,
 * not a few each. The send queue (send-queue.ts) hands each 2xx here and says when its last
 * send in flight finished.
 */
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import type { ClaimedDelivery } from './leases.ts'
import { type DeliveredAttempt, type Recorded, recordDelivered } from './outcomes.ts'

export interface DeliveredBatches {
  /** Queues a 2xx to record; settles with 'delivered', or 'stale' when the lease had passed. */
  record(delivery: ClaimedDelivery, status: number): Promise<Recorded>
  /** The last send in flight finished: the successes waiting for it are recorded now. */
  sendsDone(): void
}

export function deliveredBatches(
  db: Kysely<Database>,
  {
    concurrency,
    sending,
    delayMs,
  }: {
    /** Sends in flight at most: half as many successes waiting are recorded without delay. */
    concurrency: number
    /** Sends under way now. */
    sending: () => number
    /** Longest a success waits for the sends still in flight before it is recorded. */
    delayMs: number
  },
): DeliveredBatches {
  let toRecord: { attempt: DeliveredAttempt; settle: (r: Recorded | Error) => void }[] = []
  let recording = false
  let recordTimer: NodeJS.Timeout | undefined
  const recordSoon = () => {
    if (recording) return
    if (sending() === 0 || toRecord.length >= concurrency / 2) {
      clearTimeout(recordTimer)
      recordTimer = undefined
      void flushRecords()
    } else recordTimer ??= setTimeout(() => void flushRecords(), delayMs)
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
  return {
    record: (delivery, status) =>
      new Promise<Recorded>((resolve, reject) => {
        toRecord.push({
          attempt: { id: delivery.id, attempts: delivery.attempts, status },
          settle: (r) => (r instanceof Error ? reject(r) : resolve(r)),
        })
        recordSoon()
      }),
    sendsDone() {
      if (toRecord.length > 0) recordSoon()
    },
  }
}
