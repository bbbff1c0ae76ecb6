import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildTestApp, type TestApp, usingPostgres } from '../helpers/context.ts'
import { waitFor } from '../helpers/insights.ts'
import {
  deliveryCounts,
  insertEndpoint,
  insertOrderEvents,
  type Receiver,
  startReceiver,
} from '../helpers/webhook-receiver.ts'

// The dispatcher writes its successes together (one statement for those that finish while the
// previous one runs), not one commit per delivery: that commit per delivery held it to ~100
// deliveries/s on the loaded CI VM, far below the rate orders are placed
// (test/webhooks/delivered-at-scale.test.ts, docs/benchmarks.md "Webhooks under order load").
const events = 300
let t: TestApp
let receiver: Receiver
beforeAll(async () => {
  receiver = await startReceiver()
  t = await buildTestApp(
    { WEBHOOKS_ALLOW_LOCAL: 'true', WEBHOOKS_POLL_MS: '20' },
    { webhookDispatcher: true },
  )
})
afterAll(async () => {
  await t?.close()
  await receiver?.close()
})

it(`delivers ${events} events of ${events} orders with far fewer commits than deliveries`, async () => {
  await insertEndpoint(t.app.db, receiver.url, ['order.placed'])
  await insertOrderEvents(t.app.db, 1, events, ['order.placed'])
  t.app.webhookDispatcher.poke()
  await waitFor(async () => (await deliveryCounts(t.app.db)).delivered === events, 60_000, 50)
  expect(new Set(receiver.delivered().map((r) => r.id)).size).toBe(events)
  // Each delivered row was last written by the commit that recorded it.
  const { rows } = await sql<{ n: number }>`
    select count(distinct xmin::text)::int as n from webhook_deliveries where status = 'delivered'
  `.execute(t.app.db)
  console.info(`${events} deliveries recorded in ${rows[0]?.n} commits`)
  // On PGlite a write is in process with no WAL flush to wait for: each record is done before
  // the next send finishes, nothing queues behind it, so each goes alone (as it should).
  if (usingPostgres) expect(rows[0]?.n).toBeLessThan(events / 2)
}, 90_000)
