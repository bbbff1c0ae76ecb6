import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { fanOut } from '../../src/webhooks/fan-out.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { insertEndpoint, insertEvents } from '../helpers/webhook-receiver.ts'

// The fan-out statement with mail on, run by hand on an app whose dispatcher is off.
let t: TestApp
const db = () => t.app.db
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => {
  await t?.close()
})
beforeEach(async () => {
  await sql`truncate webhook_deliveries, outbox, order_emails`.execute(db())
  await sql`delete from webhook_endpoints`.execute(db())
})

const order = (email: string | null) => ({ orderNumber: 'AAAAA-BBBBB', customer: { email } })
const emails = () =>
  db()
    .selectFrom('order_emails')
    .select(['event_id', 'order_id', 'kind', 'to_address', 'status', 'attempts'])
    .orderBy('id')
    .execute()
const unfanned = async () =>
  (
    await sql<{
      n: number
    }>`select count(*)::int as n from outbox where fanned_out_at is null`.execute(db())
  ).rows[0]?.n

describe('fanOut with e-mails', () => {
  it('queues a confirmation per order.placed and a shipping e-mail per order.shipped, once', async () => {
    const [placed, , shipped] = await insertEvents(db(), [
      { type: 'order.placed', orderId: 7, data: order('ada@example.com') },
      { type: 'order.packed', orderId: 7, data: order('ada@example.com') },
      { type: 'order.shipped', orderId: 7, data: order('ada@example.com') },
      { type: 'order.delivered', orderId: 7, data: order('ada@example.com') },
      { type: 'product.out_of_stock', orderId: null, data: { sku: 'MUG-001', name: 'Mug' } },
    ])
    expect(await fanOut(db(), 2, { emails: true })).toBe(2)
    expect(await fanOut(db(), 100, { emails: true })).toBe(3)
    expect(await fanOut(db(), 100, { emails: true })).toBe(0)
    expect(await emails()).toEqual([
      expect.objectContaining({
        kind: 'confirmation',
        to_address: 'ada@example.com',
        status: 'pending',
        attempts: 0,
      }),
      expect.objectContaining({
        kind: 'shipping',
        to_address: 'ada@example.com',
        status: 'pending',
        attempts: 0,
      }),
    ])
    expect((await emails()).map((e) => String(e.event_id))).toEqual([placed, shipped])
    expect((await emails()).map((e) => Number(e.order_id))).toEqual([7, 7])
  })

  it('queues a cancellation e-mail per order.cancelled, once, and none for other events', async () => {
    const [, cancelled] = await insertEvents(db(), [
      { type: 'order.packed', orderId: 7, data: order('ada@example.com') },
      { type: 'order.cancelled', orderId: 7, data: order('ada@example.com') },
      { type: 'order.delivered', orderId: 8, data: order('bob@example.com') },
    ])
    expect(await fanOut(db(), 100, { emails: true })).toBe(3)
    // Made again (an event fanned out twice can only be one a crash left unmarked): one row.
    await sql`update outbox set fanned_out_at = null`.execute(db())
    expect(await fanOut(db(), 100, { emails: true })).toBe(3)
    // bigints: text from pg, numbers from PGlite.
    const made = (await emails()).map((e) => ({
      ...e,
      event_id: String(e.event_id),
      order_id: String(e.order_id),
    }))
    expect(made).toEqual([
      {
        event_id: cancelled,
        order_id: '7',
        kind: 'cancellation',
        to_address: 'ada@example.com',
        status: 'pending',
        attempts: 0,
      },
    ])
  })

  it('queues none with mail off, and the events are fanned out all the same', async () => {
    await insertEvents(db(), [{ type: 'order.placed', orderId: 8, data: order('ada@example.com') }])
    expect(await fanOut(db(), 100, { emails: false })).toBe(1)
    expect(await emails()).toEqual([])
    expect(await unfanned()).toBe(0)
  })

  it('is one statement: when the e-mail rows cannot be written, no delivery is made and no event marked', async () => {
    await insertEndpoint(db(), 'http://127.0.0.1:9/hook', ['order.placed'])
    // An order.placed payload without an e-mail: its e-mail row breaks the NOT NULL on to_address.
    await insertEvents(db(), [
      { type: 'order.placed', orderId: 9, data: order('ada@example.com') },
      { type: 'order.placed', orderId: 10, data: order(null) },
    ])
    await expect(fanOut(db(), 100, { emails: true })).rejects.toThrow(/to_address/)
    expect(await unfanned()).toBe(2)
    expect(await emails()).toEqual([])
    const deliveries = await sql<{
      n: number
    }>`select count(*)::int as n from webhook_deliveries`.execute(db())
    expect(deliveries.rows[0]?.n).toBe(0)
  })
})
