import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { fanOut } from '../../src/webhooks/fan-out.ts'
import { claimDue } from '../../src/webhooks/leases.ts'
import { recordDelivered } from '../../src/webhooks/outcomes.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { insertEndpoint, insertEvents } from '../helpers/webhook-receiver.ts'

// recordDelivered, the dispatcher's one statement for many successes, on an app whose
// dispatcher is off (the test takes each step).
let t: TestApp
const db = () => t.app.db
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => {
  await t?.close()
})

it('marks every delivery still under its lease delivered in one statement, clears failing_since, skips a stale one', async () => {
  const e = await insertEndpoint(db(), 'http://127.0.0.1:9/hook', ['order.placed'])
  await db()
    .updateTable('webhook_endpoints')
    .set({ failing_since: new Date(Date.now() - 60_000) })
    .execute()
  await insertEvents(db(), [
    { type: 'order.placed', orderId: 1 },
    { type: 'order.placed', orderId: 2 },
    { type: 'order.placed', orderId: 3 },
  ])
  await fanOut(db())
  const [a, b, c] = await claimDue(db(), 10, 30_000)
  if (!a || !b || !c) throw new Error('three deliveries expected')
  // c's lease passed to another attempt (attempts moved on): its outcome is not ours to write.
  await sql`update webhook_deliveries set attempts = attempts + 1 where id = ${c.id}`.execute(db())

  const done = await recordDelivered(db(), [
    { id: a.id, attempts: a.attempts, status: 200 },
    { id: b.id, attempts: b.attempts, status: 204 },
    { id: c.id, attempts: c.attempts, status: 200 },
  ])
  expect([...done].sort()).toEqual([a.id, b.id].sort())
  const rows = await db()
    .selectFrom('webhook_deliveries')
    .select(['id', 'status', 'last_response_status', 'delivered_at', 'last_error'])
    .orderBy('id')
    .execute()
  expect(rows.map((r) => [String(r.id), r.status, r.last_response_status])).toEqual([
    [a.id, 'delivered', 200],
    [b.id, 'delivered', 204],
    [c.id, 'pending', null],
  ])
  expect(rows[0]?.delivered_at).toBeInstanceOf(Date)
  // One statement: the two rows were written by one transaction.
  const { rows: tx } = await sql<{ n: number }>`
    select count(distinct xmin::text)::int as n from webhook_deliveries where status = 'delivered'
  `.execute(db())
  expect(tx[0]?.n).toBe(1)
  const endpoint = await db()
    .selectFrom('webhook_endpoints')
    .select('failing_since')
    .where('id', '=', e.id)
    .executeTakeFirstOrThrow()
  expect(endpoint.failing_since).toBeNull()
  expect(await recordDelivered(db(), [])).toEqual(new Set())
})
