import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { migrateToLatest, migrator } from '../../src/db/migrate.ts'
import { buildTestApp, type TestApp, unmigratedDatabase } from '../helpers/context.ts'
import { waitFor } from '../helpers/insights.ts'
import { placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, addToken } from '../helpers/staff.ts'
import { insertEndpoint, type Receiver, startReceiver } from '../helpers/webhook-receiver.ts'
import { thirtySecondsOn } from './endpoint-helpers.ts'

// The webhook-id (Standard Webhooks: the message's unique id, by which a receiver drops what it
// has handled) must be unique across databases and restores, yet the same on every attempt and
// for every endpoint of one event. It was `evt_<outbox id>`: every database's first event was
// evt_1, so one receiver fed by staging and production (or by a database made afresh, or
// restored to a point in time, whose sequence rewinds) dropped real events as duplicates.

const publicId = /^evt_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

// Two apps, each on a database of its own (PGlite in memory, or two PostgreSQL databases),
// dispatching to one receiver, as staging and production feeding one system would.
let a: TestApp
let b: TestApp
let receiver: Receiver
const dispatcher = { retry: { baseMs: 50, capMs: 100 }, timeoutMs: 1000, leaseMs: 3000 }
const env = { WEBHOOKS_ALLOW_LOCAL: 'true', WEBHOOKS_POLL_MS: '20' }

beforeAll(async () => {
  receiver = await startReceiver()
  a = await buildTestApp(env, { webhookDispatcher: dispatcher })
  b = await buildTestApp(env, { webhookDispatcher: dispatcher })
})
afterEach(async () => {
  for (const t of [a, b]) {
    await t.app.db.updateTable('webhook_endpoints').set({ enabled: false }).execute()
  }
  receiver.setAnswer(() => 200)
})
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()])
  await receiver?.close()
})

/** The deliveries of an endpoint as GET /api/admin/webhooks/:id/deliveries answers them. */
async function deliveriesOf(t: TestApp, endpoint: number) {
  const token = await addToken(
    t.app,
    await addStaff(t.app, `admin-${endpoint}-${Date.now()}@example.com`, 'admin'),
  )
  const res = await t.app.inject({
    url: `/api/admin/webhooks/${endpoint}/deliveries`,
    headers: { authorization: `Bearer ${token}` },
  })
  expect(res.statusCode).toBe(200)
  return res.json() as { id: string; eventId: string; webhookId: string; status: string }[]
}

/** Waits for the receiver to have `n` requests about the order; answers them. */
async function receivedFor(orderNumber: string, n = 1) {
  await waitFor(
    async () => receiver.received.filter((r) => r.data.orderNumber === orderNumber).length >= n,
  )
  return receiver.received.filter((r) => r.data.orderNumber === orderNumber)
}

describe('webhook-id', () => {
  it("differs between two databases' first events, each a random id the deliveries API shows", async () => {
    const endpointA = await insertEndpoint(a.app.db, receiver.url, ['order.placed'])
    const endpointB = await insertEndpoint(b.app.db, receiver.url, ['order.placed'])
    // Each database's first event (the outbox was empty in both).
    for (const t of [a, b]) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from outbox`.execute(
        t.app.db,
      )
      expect(rows[0]?.n).toBe(0)
    }
    const orderA = await placeOrder(a.app, [{ sku: 'MUG-001', quantity: 1 }])
    const orderB = await placeOrder(b.app, [{ sku: 'MUG-001', quantity: 1 }])
    const [fromA] = await receivedFor(orderA)
    const [fromB] = await receivedFor(orderB)
    expect(fromA?.id).not.toBe(fromB?.id)
    expect(fromA?.id).toMatch(publicId)
    expect(fromB?.id).toMatch(publicId)
    // The same sequence number inside each database: only the public id tells them apart.
    const [deliveryA] = await deliveriesOf(a, endpointA.id)
    const [deliveryB] = await deliveriesOf(b, endpointB.id)
    expect(deliveryA?.eventId).toBe(deliveryB?.eventId)
    expect(deliveryA?.webhookId).toBe(fromA?.id)
    expect(deliveryB?.webhookId).toBe(fromB?.id)
  })

  it('is not given again after the sequence rewinds (a restore to a point in time)', async () => {
    const endpoint = await insertEndpoint(a.app.db, receiver.url, ['order.placed'])
    const first = await placeOrder(a.app, [{ sku: 'MUG-001', quantity: 1 }])
    const [sent] = await receivedFor(first)
    // As after a restore to a moment before that event: its rows are gone, the sequence is back.
    const { rows } = await sql<{ id: string }>`
      select id::text as id from outbox o where o.payload->>'orderNumber' = ${first}`.execute(
      a.app.db,
    )
    const eventId = rows[0]?.id as string
    await sql`delete from webhook_deliveries where event_id = ${eventId}`.execute(a.app.db)
    await sql`delete from outbox where id >= ${eventId}`.execute(a.app.db)
    await sql.raw(`alter table outbox alter column id restart with ${eventId}`).execute(a.app.db)
    const second = await placeOrder(a.app, [{ sku: 'MUG-001', quantity: 1 }])
    const [again] = await receivedFor(second)
    expect(again?.id).not.toBe(sent?.id)
    expect(again?.id).toMatch(publicId)
    const [delivery] = await deliveriesOf(a, endpoint.id)
    expect(delivery?.eventId).toBe(eventId)
    expect(delivery?.webhookId).toBe(again?.id)
  })

  it('stays the same on every retry, for every endpoint and on a redelivery', async () => {
    const failTwice = await insertEndpoint(a.app.db, `${receiver.url}?fail`, ['order.placed'])
    const other = await insertEndpoint(a.app.db, receiver.url, ['order.placed'])
    const tries = new Map<string, number>()
    receiver.setAnswer((r) => {
      if (!r.path.endsWith('?fail')) return 200
      const n = (tries.get(r.id) ?? 0) + 1
      tries.set(r.id, n)
      return n <= 2 ? 500 : 200
    })
    const order = await placeOrder(a.app, [{ sku: 'MUG-001', quantity: 1 }])
    const got = await receivedFor(order, 4)
    const ids = new Set(got.map((r) => r.id))
    expect(ids.size).toBe(1)
    const [id] = ids
    expect(id).toMatch(publicId)
    const [failed] = await deliveriesOf(a, failTwice.id)
    await waitFor(async () => (await deliveriesOf(a, failTwice.id))[0]?.status === 'delivered')
    expect(failed?.webhookId).toBe(id)
    expect((await deliveriesOf(a, other.id))[0]?.webhookId).toBe(id)
    // A redelivery sends the same event: the same id.
    const token = await addToken(a.app, await addStaff(a.app, 'redeliver@example.com', 'admin'))
    const delivery = (await deliveriesOf(a, other.id))[0]?.id ?? ''
    await thirtySecondsOn(a.app.db, delivery) // redelivering waits 30 s after an attempt
    const res = await a.app.inject({
      method: 'POST',
      url: `/api/admin/webhooks/${other.id}/deliveries/${delivery}/redeliver`,
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.statusCode).toBe(200)
    const all = await receivedFor(order, 5)
    expect(new Set(all.map((r) => r.id))).toEqual(new Set([id]))
  })
})

describe('migration 0015', () => {
  it('gives the events written before it ids of their own', async () => {
    const { db, close } = await unmigratedDatabase()
    try {
      const before = await (await migrator(db)).migrateTo('0014_products_fillfactor')
      expect(before.error).toBeUndefined()
      await sql`
        insert into outbox (event_type, order_id, payload)
        select 'order.placed', g, jsonb_build_object('n', g) from generate_series(1, 50) g
      `.execute(db)
      await migrateToLatest(db)
      const { rows } = await sql<{ n: number; distinct: number; missing: number }>`
        select count(*)::int as n, count(distinct public_id)::int as distinct,
               count(*) filter (where public_id is null)::int as missing
        from outbox
      `.execute(db)
      expect(rows[0]).toEqual({ n: 50, distinct: 50, missing: 0 })
    } finally {
      await close()
    }
  })
})
