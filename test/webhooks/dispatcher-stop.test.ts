import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDispatcher } from '../../src/webhooks/dispatcher.ts'
import { checkWebhookUrl } from '../../src/webhooks/url-policy.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { waitFor } from '../helpers/insights.ts'
import { insertEndpoint, insertEvents, startReceiver } from '../helpers/webhook-receiver.ts'

// A dispatcher stopping (the app closing): sends in flight get the grace period, then are
// abandoned with their leases handed back. Driven by hand on an app whose own dispatcher is off.
let t: TestApp
const db = () => t.app.db
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => {
  await t?.close()
})

const dispatcher = (stopGraceMs: number) =>
  startDispatcher(db(), {
    pollMs: 20,
    stopGraceMs,
    check: checkWebhookUrl,
    allowLocal: true,
    onError: (err) => {
      throw err
    },
  })

const deliveryOf = (eventId: string) =>
  db()
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where(sql<boolean>`event_id = ${eventId}`)
    .executeTakeFirstOrThrow()

describe('stopping the dispatcher', () => {
  it('lets a send in flight finish within the grace period and records it', async () => {
    const receiver = await startReceiver(() => new Promise((ok) => setTimeout(() => ok(200), 300)))
    try {
      await insertEndpoint(db(), receiver.url)
      const [eventId] = await insertEvents(db(), [{ type: 'order.placed', orderId: 1 }])
      const d = dispatcher(5000)
      await waitFor(async () => receiver.received.length === 1)
      await d.stop()
      expect(d.stats.delivered).toBe(1)
      expect((await deliveryOf(eventId as string)).status).toBe('delivered')
    } finally {
      await db().updateTable('webhook_endpoints').set({ enabled: false }).execute()
      await receiver.close()
    }
  })

  it('abandons a send still in flight after the grace period and hands its lease back', async () => {
    const receiver = await startReceiver(() => 'stall')
    try {
      await insertEndpoint(db(), receiver.url)
      const [eventId] = await insertEvents(db(), [{ type: 'order.placed', orderId: 2 }])
      const d = dispatcher(200)
      await waitFor(async () => receiver.received.length === 1)
      const leased = await deliveryOf(eventId as string)
      expect(leased.next_attempt_at.getTime()).toBeGreaterThan(Date.now() + 20_000)
      const started = Date.now()
      await d.stop()
      expect(Date.now() - started).toBeLessThan(2000)
      const released = await deliveryOf(eventId as string)
      expect(released.status).toBe('pending')
      expect(released.attempts).toBe(1)
      expect(released.last_error).toBe('abandoned: the dispatcher stopped')
      // Due now, not in 30 s: the next dispatcher takes it at once.
      expect(released.next_attempt_at.getTime()).toBeLessThanOrEqual(Date.now())
      expect(d.stats).toMatchObject({ delivered: 0, retried: 0, failed: 0, inFlight: 0 })
    } finally {
      await receiver.close()
    }
  })
})
