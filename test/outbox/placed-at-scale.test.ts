import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildTestApp, customerIn, type TestApp } from '../helpers/context.ts'
import { consumeEvents, expectValidData, outboxMark, outboxRows } from '../helpers/outbox.ts'
import { scaleOrders } from '../helpers/scale.ts'

// 10,000 orders (SCALE=1; 1,000 by default) placed at once through the API, so through the
// order batcher's group-commit statement (ORDER_BATCH_MAX 64): exactly one order.placed per
// order, each the order as GET /api/orders/:n shows it. On PGlite and PostgreSQL.
const orders = scaleOrders
const skus = ['MUG-001', 'TEE-002', 'CAP-003', 'LMP-006', 'KNF-008', 'PRS-012']
const states = ['TX', 'CA', 'NY', 'WA', 'FL']

let t: TestApp
beforeAll(async () => {
  // Thousands of requests injected in one go hold the event loop for seconds: no connection
  // timeout or event-loop guard may answer 503 for what is the test's own doing.
  t = await buildTestApp({
    RATE_LIMIT_MAX: '0',
    DATABASE_CONNECT_TIMEOUT_MS: '60000',
    MAX_EVENT_LOOP_DELAY_MS: '0',
  })
  // Stock for all of them, and more: no product sells out here.
  await t.app.db.updateTable('products').set({ stock: 1_000_000 }).execute()
  // A consumer for every event, so each order.placed is written with its payload.
  await consumeEvents(t.app.db)
})
afterAll(() => t?.close())

it(`${orders} orders placed concurrently: exactly ${orders} order.placed events, one per order, each as GET shows the order`, async () => {
  const mark = await outboxMark(t.app.db)
  const answers = await Promise.all(
    Array.from({ length: orders }, (_, i) => {
      // One to three lines of different products, some with two lines of one SKU (merged).
      const items = [{ sku: skus[i % skus.length] as string, quantity: 1 + (i % 5) }]
      if (i % 3 === 0) items.push({ sku: skus[(i + 1) % skus.length] as string, quantity: 2 })
      if (i % 7 === 0) items.push({ sku: items[0]?.sku as string, quantity: 1 })
      return t.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': randomUUID() },
        payload: {
          items,
          customer: { ...customerIn(states[i % states.length] as string), name: `Shopper ${i}` },
        },
      })
    }),
  )
  expect(answers.filter((r) => r.statusCode !== 201).map((r) => r.body)).toEqual([])
  const numbers = answers.map((r) => r.json().orderNumber as string)
  expect(new Set(numbers).size).toBe(orders)

  // The batcher did group them: far fewer transactions than orders.
  const { rows: tx } = await sql<{ n: string }>`
    select count(distinct xmin::text) as n from orders
    where order_number = any(${numbers}::text[])`.execute(t.app.db)
  expect(Number(tx[0]?.n)).toBeLessThan(orders / 4)

  const events = await outboxRows(t.app.db, mark)
  expect(events).toHaveLength(orders)
  expect(events.every((e) => e.event_type === 'order.placed')).toBe(true)
  const byNumber = new Map(events.map((e) => [e.payload.orderNumber as string, e]))
  expect(byNumber.size).toBe(orders)

  // Each event is its order: the id it points at, and the order as GET answers it.
  const { rows: ids } = await sql<{ order_number: string; id: string }>`
    select order_number, id::text as id from orders
    where order_number = any(${numbers}::text[])`.execute(t.app.db)
  for (const { order_number, id } of ids) expect(byNumber.get(order_number)?.order_id).toBe(id)
  for (let i = 0; i < numbers.length; i += 500) {
    const chunk = numbers.slice(i, i + 500)
    const got = await Promise.all(chunk.map((n) => t.app.inject({ url: `/api/orders/${n}` })))
    for (const [k, res] of got.entries()) {
      const event = byNumber.get(chunk[k] as string)
      expect(event?.payload).toEqual(res.json())
    }
  }
  for (const e of events.slice(0, 200)) expectValidData(e)
}, 600_000)
