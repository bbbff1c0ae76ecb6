import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stateTimeZones } from '../../src/state-time-zones.ts'
import { stateCodes } from '../../src/us-states.ts'
import { buildTestApp, customerIn, type TestApp } from '../helpers/context.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t?.close())

/** An order shipped to `state`, placed (as the database records it) at the UTC `instant`. */
async function orderPlacedAt(state: string, instant: string): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: { 'idempotency-key': randomUUID() },
    payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer: customerIn(state) },
  })
  expect(res.statusCode).toBe(201)
  const { orderNumber } = res.json() as { orderNumber: string }
  await t.app.db
    .updateTable('orders')
    .set({ created_at: new Date(instant) })
    .where('order_number', '=', orderNumber)
    .execute()
  return orderNumber
}

/** The confirmation's `<time>`: its datetime attribute and its text. */
async function placedTime(orderNumber: string): Promise<{ datetime: string; text: string }> {
  const page = await t.app.inject({
    url: `/orders/${orderNumber}`,
    headers: { accept: 'text/html' },
  })
  expect(page.statusCode).toBe(200)
  const m = /Placed <time datetime="([^"]+)">([^<]+)<\/time>/.exec(page.body)
  expect(m, 'the confirmation has a <time> for when the order was placed').not.toBeNull()
  return { datetime: m?.[1] ?? '', text: (m?.[2] ?? '').replace(/\s/g, ' ') }
}

// Intl puts a narrow no-break space before AM/PM; compared here with plain spaces.
const summer = '2024-07-15T14:30:00.000Z'
const winter = '2024-01-15T14:30:00.000Z'

describe('the confirmation shows when the order was placed where the shopper is', () => {
  it.each([
    ['NY', summer, 'Monday, July 15, 2024 at 10:30 AM EDT'],
    ['NY', winter, 'Monday, January 15, 2024 at 9:30 AM EST'],
    ['AZ', summer, 'Monday, July 15, 2024 at 7:30 AM MST'],
    ['AZ', winter, 'Monday, January 15, 2024 at 7:30 AM MST'],
    ['HI', summer, 'Monday, July 15, 2024 at 4:30 AM HST'],
    ['HI', winter, 'Monday, January 15, 2024 at 4:30 AM HST'],
    ['AK', winter, 'Monday, January 15, 2024 at 5:30 AM AKST'],
    ['IN', summer, 'Monday, July 15, 2024 at 10:30 AM EDT'],
    ['CA', winter, 'Monday, January 15, 2024 at 6:30 AM PST'],
  ])('%s, placed at %s', async (state, instant, shown) => {
    const orderNumber = await orderPlacedAt(state, instant)
    const time = await placedTime(orderNumber)
    expect(time.text).toBe(shown)
    // The machine-readable instant stays UTC, as the API gives it.
    expect(time.datetime).toBe(instant)
    const api = (await t.app.inject({ url: `/api/orders/${orderNumber}` })).json()
    expect(api.createdAt).toBe(instant)
  })

  it('a local date can differ from the UTC date: 03:00 UTC on Jan 1 is Dec 31 in Honolulu', async () => {
    const orderNumber = await orderPlacedAt('HI', '2025-01-01T03:00:00.000Z')
    expect((await placedTime(orderNumber)).text).toBe('Tuesday, December 31, 2024 at 5:00 PM HST')
  })
})

describe('the map of states to time zones', () => {
  it('names a zone the runtime knows for each of the 50 states and DC, and nothing else', () => {
    expect(Object.keys(stateTimeZones).sort()).toEqual([...stateCodes].sort())
    for (const [state, timeZone] of Object.entries(stateTimeZones)) {
      expect(() => new Intl.DateTimeFormat('en-US', { timeZone }), state).not.toThrow()
    }
    expect(stateTimeZones.AZ).toBe('America/Phoenix')
    expect(stateTimeZones.HI).toBe('Pacific/Honolulu')
    expect(stateTimeZones.AK).toBe('America/Anchorage')
    expect(stateTimeZones.IN).toBe('America/Indiana/Indianapolis')
  })
})
