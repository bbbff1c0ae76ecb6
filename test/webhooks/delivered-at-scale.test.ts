import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildTestApp, customer, type TestApp, usingPostgres } from '../helpers/context.ts'
import { waitFor } from '../helpers/insights.ts'
import { outboxMark, outboxRows } from '../helpers/outbox.ts'
import { scaleOrders } from '../helpers/scale.ts'
import {
  deliveryCounts,
  insertEndpoint,
  type Receiver,
  startReceiver,
  webhookIdsOf,
} from '../helpers/webhook-receiver.ts'

// 10,000 orders (SCALE=1; 1,000 by default) placed at once through the API with the dispatcher on and a real receiver on
// loopback registered for order.placed: every order's event is delivered, signed, exactly one
// distinct webhook-id per order, none missing. (The outbox side, one event per order as GET
// shows it, is test/outbox/placed-at-scale.test.ts.)
//
// PostgreSQL only: on PGlite (one connection, every statement in turn) 10,000 orders and their
// 10,000 deliveries, each recorded by its own statement, take minutes of CI time; the outbox part
// of the scale test runs on both.
const orders = scaleOrders
const skus = ['MUG-001', 'TEE-002', 'CAP-003', 'LMP-006', 'KNF-008', 'PRS-012']

let t: TestApp
let receiver: Receiver
beforeAll(async () => {
  if (!usingPostgres) return
  receiver = await startReceiver()
  // As in placed-at-scale: thousands of injected requests hold the event loop for seconds, which is
  // the test's own doing, not overload to shed with a 503.
  t = await buildTestApp(
    {
      RATE_LIMIT_MAX: '0',
      DATABASE_CONNECT_TIMEOUT_MS: '60000',
      MAX_EVENT_LOOP_DELAY_MS: '0',
      WEBHOOKS_ALLOW_LOCAL: 'true',
      WEBHOOKS_POLL_MS: '50',
    },
    // The production defaults (concurrency, batch, lease, 10 s timeout) but for fast retries:
    // the event loop is held for seconds while the orders are injected, so a send may time out.
    { webhookDispatcher: { retry: { baseMs: 200, capMs: 1000 } } },
  )
  await t.app.db.updateTable('products').set({ stock: 1_000_000 }).execute()
}, 60_000)
afterAll(async () => {
  await t?.close()
  await receiver?.close()
})

it.skipIf(!usingPostgres)(
  `${orders} orders placed concurrently with the dispatcher on: each order.placed delivered to a real receiver, once per webhook-id, signed (PostgreSQL only: too slow on PGlite for CI)`,
  async () => {
    const { secret } = await insertEndpoint(t.app.db, receiver.url, ['order.placed'])
    const mark = await outboxMark(t.app.db)
    const started = performance.now()
    const answers = await Promise.all(
      Array.from({ length: orders }, (_, i) =>
        t.app.inject({
          method: 'POST',
          url: '/api/orders',
          headers: { 'idempotency-key': randomUUID() },
          payload: {
            items: [{ sku: skus[i % skus.length] as string, quantity: 1 + (i % 3) }],
            customer: { ...customer, name: `Shopper ${i}` },
          },
        }),
      ),
    )
    const placedMs = performance.now() - started
    expect(answers.filter((r) => r.statusCode !== 201).map((r) => r.body)).toEqual([])

    // Every delivery delivered: the table says so and the receiver has one 2xx per event.
    await waitFor(async () => (await deliveryCounts(t.app.db)).delivered === orders, 240_000, 200)
    const deliveredMs = performance.now() - started
    console.info(
      `${orders} orders placed in ${(placedMs / 1000).toFixed(1)} s; every order.placed delivered ` +
        `${(deliveredMs / 1000).toFixed(1)} s after the first order (drain after the last ` +
        `answer: ${((deliveredMs - placedMs) / 1000).toFixed(1)} s), ` +
        `${receiver.received.length} requests received`,
    )
    expect(await deliveryCounts(t.app.db)).toEqual({ delivered: orders })

    const events = await outboxRows(t.app.db, mark)
    expect(events).toHaveLength(orders)
    const expectedIds = new Set(
      await webhookIdsOf(
        t.app.db,
        events.map((e) => e.id),
      ),
    )
    const delivered = receiver.delivered()
    const receivedIds = new Set(delivered.map((r) => r.id))
    expect(receivedIds.size).toBe(orders)
    expect([...expectedIds].filter((id) => !receivedIds.has(id))).toEqual([])
    expect([...receivedIds].filter((id) => !expectedIds.has(id))).toEqual([])
    // Each order's event, and each request signed with the endpoint's secret.
    const numbers = new Set(answers.map((r) => r.json().orderNumber as string))
    expect(new Set(delivered.map((r) => r.data.orderNumber)).size).toBe(orders)
    expect(delivered.every((r) => numbers.has(r.data.orderNumber as string))).toBe(true)
    const verifier = new Webhook(secret)
    for (const r of receiver.received) {
      const headers = {
        'webhook-id': r.id,
        'webhook-timestamp': r.timestamp,
        'webhook-signature': r.signature,
      }
      expect(verifier.verify(r.body, headers)).toMatchObject({ type: 'order.placed' })
    }
    // Nothing left behind: every event fanned out, no delivery still pending.
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from outbox where fanned_out_at is null`.execute(t.app.db)
    expect(rows[0]?.n).toBe(0)
  },
  600_000,
)
