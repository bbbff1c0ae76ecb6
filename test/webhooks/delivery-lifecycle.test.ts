import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { waitFor } from '../helpers/insights.ts'
import { lifecycleApi, placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, addToken } from '../helpers/staff.ts'
import { insertEndpoint, type Receiver, startReceiver } from '../helpers/webhook-receiver.ts'

// The whole path with the service's own events: orders placed through the API and moved through
// their lifecycle by staff, the outbox rows those write, the dispatcher, a real receiver.
let t: TestApp
let receiver: Receiver
beforeAll(async () => {
  t = await buildTestApp(
    { WEBHOOKS_ALLOW_LOCAL: 'true', WEBHOOKS_POLL_MS: '20' },
    { webhookDispatcher: { retry: { baseMs: 100, capMs: 300 } } },
  )
})
afterAll(async () => {
  await receiver?.close()
  await t?.close()
})

describe('events of real orders', () => {
  it("delivers each order's events in order, signed, while its order.placed keeps failing", async () => {
    // Every order.placed answers 500 until both orders are shipped: their packed and shipped
    // events exist and are due all that time, and must wait for their order's placed.
    let shippedAll = false
    receiver = await startReceiver((r) => (r.type === 'order.placed' && !shippedAll ? 500 : 200))
    const { secret } = await insertEndpoint(t.app.db, receiver.url, [
      'order.placed',
      'order.packed',
      'order.shipped',
    ])
    const api = lifecycleApi(t.app, await addToken(t.app, await addStaff(t.app, 'pat@example.com')))
    const numbers = [
      await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }]),
      await placeOrder(t.app, [{ sku: 'TEE-002', quantity: 2 }], 'CA'),
    ]
    for (const n of numbers) {
      await api.move(n, 'packed')
      await api.move(n, 'shipped')
    }
    await waitFor(async () => receiver.received.length >= 2) // both placed tried, and refused
    shippedAll = true
    await waitFor(async () => receiver.delivered().length === 6, 30_000)

    for (const n of numbers) {
      const got = receiver.received.filter((r) => r.data.orderNumber === n)
      expect(got[0]?.answered).toBe(500)
      // The 2xx answers, in order; retries of placed before them, nothing of the order after.
      const accepted = got.filter((r) => r.answered === 200).map((r) => r.type)
      expect(accepted).toEqual(['order.placed', 'order.packed', 'order.shipped'])
      expect(got.slice(-2).map((r) => r.type)).toEqual(['order.packed', 'order.shipped'])
      for (const r of got) {
        const headers = {
          'webhook-id': r.id,
          'webhook-timestamp': r.timestamp,
          'webhook-signature': r.signature,
        }
        expect(new Webhook(secret).verify(r.body, headers)).toMatchObject({ type: r.type })
      }
      // The data is the order as the API shows it (after the change, for status changes).
      const shipped = got.at(-1)?.data
      expect(shipped).toMatchObject({
        orderNumber: n,
        status: 'shipped',
        from: 'packed',
        to: 'shipped',
      })
      const now = (await t.app.inject({ url: `/api/orders/${n}` })).json()
      expect(shipped?.totalCents).toBe(now.totalCents)
    }
  })
})
