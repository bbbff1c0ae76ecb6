import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../src/app.ts'
import { appsOnOneDatabase, usingPostgres } from '../helpers/context.ts'
import { waitFor } from '../helpers/insights.ts'
import {
  deliveryCounts,
  insertEndpoint,
  insertOrderEvents,
  type Received,
  type Receiver,
  startReceiver,
} from '../helpers/webhook-receiver.ts'

const orders = 300
const steps = ['order.placed', 'order.packed', 'order.shipped']

/**
 * A receiver that takes 1..6 ms per request, fails every 9th with a 500 (so retries happen
 * while both instances work), and notes any webhook-id that arrives while a request with the
 * same id is still being answered (a delivery sent by two dispatchers at once).
 */
async function busyReceiver() {
  const inFlight = new Set<string>()
  const overlaps: string[] = []
  const receiver = await startReceiver((r: Received, n: number) => {
    if (inFlight.has(r.id)) overlaps.push(r.id)
    inFlight.add(r.id)
    return new Promise<number>((ok) =>
      setTimeout(
        () => {
          inFlight.delete(r.id)
          ok(n % 9 === 0 ? 500 : 200)
        },
        1 + (n % 6),
      ),
    )
  })
  return { receiver, overlaps }
}

// Two apps on one PostgreSQL database, each with its own dispatcher (PGlite cannot be shared).
describe.skipIf(!usingPostgres)('two instances dispatching (PostgreSQL only)', () => {
  let apps: App[]
  let close: () => Promise<void>
  let receivers: { receiver: Receiver; overlaps: string[] }[]
  beforeAll(async () => {
    ;({ apps, close } = await appsOnOneDatabase(
      2,
      { WEBHOOKS_ALLOW_LOCAL: 'true', WEBHOOKS_POLL_MS: '20' },
      {
        salesFold: false,
        // Small batches and few slots, so the two instances interleave on the same orders.
        webhookDispatcher: { concurrency: 4, fanOutBatch: 50, retry: { baseMs: 20, capMs: 80 } },
      },
    ))
    receivers = [await busyReceiver(), await busyReceiver()]
  })
  afterAll(async () => {
    await Promise.all(receivers?.map((r) => r.receiver.close()) ?? [])
    await close?.()
  })

  it('delivers every event to every endpoint, none by both at once, each order in order', async () => {
    const db = (apps[0] as App).db
    for (const r of receivers) await insertEndpoint(db, r.receiver.url, steps)
    // Written in four slices while the dispatchers run, as orders would come in.
    for (let i = 0; i < 4; i++) await insertOrderEvents(db, 1 + (i * orders) / 4, orders / 4, steps)
    const events = orders * steps.length

    await waitFor(async () => (await deliveryCounts(db)).delivered === 2 * events, 120_000, 100)
    expect(await deliveryCounts(db)).toEqual({ delivered: 2 * events })

    for (const { receiver, overlaps } of receivers) {
      expect(overlaps).toEqual([])
      const ok = receiver.delivered()
      // Every event once with a 2xx: none skipped, none delivered twice.
      expect(new Set(ok.map((r) => r.id)).size).toBe(events)
      expect(ok).toHaveLength(events)
      // Each order's events in the order they happened, retries included.
      const byOrder = new Map<unknown, string[]>()
      for (const r of ok)
        byOrder.set(r.data.orderId, [...(byOrder.get(r.data.orderId) ?? []), r.type])
      expect(byOrder.size).toBe(orders)
      for (const types of byOrder.values()) expect(types).toEqual(steps)
      // Retries happened (every 9th answer was a 500).
      expect(receiver.received.length).toBeGreaterThan(events)
    }
    // Both instances did part of the work.
    const [a, b] = apps.map((app) => app.webhookDispatcher.stats.delivered)
    expect((a ?? 0) + (b ?? 0)).toBe(2 * events)
    expect(a).toBeGreaterThan(0)
    expect(b).toBeGreaterThan(0)
  })
})
