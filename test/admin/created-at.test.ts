import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isoInstant } from '../../src/orders/order-rows.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, addToken, signIn } from '../helpers/staff.ts'
import { insertOrders } from './seed.ts'

// One createdAt format everywhere: the ISO 8601 of Date.prototype.toISOString (milliseconds),
// as the shopper's API gives it. The list's cursor keeps PostgreSQL's microseconds inside.

let t: TestApp
let authorization: string
let cookie: string

beforeAll(async () => {
  t = await buildTestApp()
  const id = await addStaff(t.app, 'when@example.com')
  authorization = `Bearer ${await addToken(t.app, id)}`
  ;({ cookie } = await signIn(t.app, 'when@example.com'))
})
afterAll(() => t?.close())

const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

describe('createdAt', () => {
  it('is the same ISO 8601 instant, milliseconds, in every answer that gives it', async () => {
    const numbers = [await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])]
    numbers.push(await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }]))
    const list = await t.app.inject({ url: '/api/admin/orders', headers: { authorization } })
    expect(list.statusCode).toBe(200)
    const listed = list.json().orders as { orderNumber: string; createdAt: string }[]
    const csv = await t.app.inject({ url: '/admin/orders.csv', headers: { cookie } })
    for (const n of numbers) {
      const shopper = (await t.app.inject(`/api/orders/${n}`)).json().createdAt
      const admin = (
        await t.app.inject({ url: `/api/admin/orders/${n}`, headers: { authorization } })
      ).json().createdAt
      const inList = listed.find((o) => o.orderNumber === n)?.createdAt
      expect(shopper).toMatch(iso)
      expect(shopper).toBe(new Date(shopper).toISOString())
      expect({ admin, inList }).toEqual({ admin: shopper, inList: shopper })
      expect(csv.body).toContain(`"${n}","${shopper}",`)
    }
  })

  it("reads PostgreSQL's microseconds as a Date does: truncated to the millisecond, none as .000", async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    const cases: [string, string][] = [
      ['2026-03-04 05:06:07.999999+00', '2026-03-04T05:06:07.999Z'],
      ['2026-03-04 05:06:07.0005+00', '2026-03-04T05:06:07.000Z'],
      ['2026-03-04 05:06:07+00', '2026-03-04T05:06:07.000Z'],
      ['2026-12-31 23:59:59.123456-05:30', '2027-01-01T05:29:59.123Z'],
    ]
    for (const [stored, shown] of cases) {
      await sql`update orders set created_at = ${stored}::timestamptz where order_number = ${n}`.execute(
        t.app.db,
      )
      expect((await t.app.inject(`/api/orders/${n}`)).json().createdAt, stored).toBe(shown)
      const page = await t.app.inject(`/orders/${n}`)
      expect(page.statusCode).toBe(200)
    }
  })

  it("rewrites PostgreSQL's text as a Date would print it, and any other value through a Date", () => {
    const texts = [
      '2026-11-30 12:32:34.443123+00',
      '2026-11-30 12:32:34.4+00',
      '2026-11-30 12:32:34.99+00',
      '2026-11-30 12:32:34+00',
      '1999-12-31 23:59:59.999999+00',
      '2026-11-30 12:32:34.5+05:30', // not UTC: through a Date
    ]
    for (const s of texts) expect(isoInstant(s), s).toBe(new Date(s).toISOString())
    const d = new Date('2026-11-30T12:32:34.443Z')
    expect(isoInstant(d)).toBe('2026-11-30T12:32:34.443Z')
  })

  it('keeps microseconds in the cursor: orders one microsecond apart page without repeats or gaps', async () => {
    await insertOrders(t.app.db, 70, { start: new Date('2026-01-01T00:00:00Z'), stepMs: 0 })
    // All 70 in one millisecond, one microsecond apart: a key cut to milliseconds would repeat
    // or skip some of them at the page boundary.
    await sql`update orders set created_at = timestamptz '2026-01-01 00:00:00.000+00'
      + (id % 1000) * interval '1 microsecond' where created_at < '2026-01-02'`.execute(t.app.db)
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const url: string = `/api/admin/orders?to=2026-01-01${cursor ? `&cursor=${cursor}` : ''}`
      const res = await t.app.inject({ url, headers: { authorization } })
      expect(res.statusCode, res.body).toBe(200)
      for (const o of res.json().orders) seen.push(o.orderNumber)
      cursor = res.json().nextCursor
    } while (cursor)
    expect(seen).toHaveLength(70)
    expect(new Set(seen).size).toBe(70)
  })
})
