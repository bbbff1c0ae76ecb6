import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseHttpDate, retryAfterMs } from '../../src/webhooks/retry-after.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { waitFor } from '../helpers/insights.ts'
import { addStaff, addToken } from '../helpers/staff.ts'
import {
  insertEndpoint,
  insertEvents,
  type Receiver,
  startReceiver,
} from '../helpers/webhook-receiver.ts'

describe('reading Retry-After (RFC 9110, 10.2.3)', () => {
  const now = Date.UTC(2026, 2, 10, 12, 0, 0)

  it('reads delay-seconds from the answer, and the three HTTP-date forms as UTC', () => {
    expect(retryAfterMs('120', now)).toBe(120_000)
    expect(retryAfterMs('0', now)).toBe(0)
    expect(retryAfterMs('99999999999999999999', now)).toBe(1e23)
    const at = Date.UTC(2026, 2, 10, 12, 2, 0)
    expect(retryAfterMs('Tue, 10 Mar 2026 12:02:00 GMT', now)).toBe(at - now)
    expect(retryAfterMs('Tuesday, 10-Mar-26 12:02:00 GMT', now)).toBe(at - now)
    expect(retryAfterMs('Tue Mar 10 12:02:00 2026', now)).toBe(at - now)
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994', now)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37))
    // A date already past asks for no wait.
    expect(retryAfterMs('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(0)
  })

  it('reads a two-digit year as at most 50 years ahead', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(
      Date.UTC(1994, 10, 6, 8, 49, 37),
    )
    expect(parseHttpDate('Friday, 01-Jan-76 00:00:00 GMT', now)).toBe(Date.UTC(2076, 0, 1))
    expect(parseHttpDate('Friday, 01-Jan-77 00:00:00 GMT', now)).toBe(Date.UTC(1977, 0, 1))
  })

  it('refuses what is neither form: the caller keeps its backoff', () => {
    for (const value of [
      undefined,
      '',
      '-5',
      '1.5',
      '+10',
      '1e3',
      'soon',
      '2026-03-10T12:02:00Z',
      'tue, 10 mar 2026 12:02:00 gmt',
      'Tue, 10 Mar 2026 12:02:00 UTC',
      'Tue, 31 Feb 2026 12:02:00 GMT',
      'Tue, 10 Mar 2026 24:00:00 GMT',
      'Tue, 10 Mar 26 12:02:00 GMT',
    ]) {
      expect(retryAfterMs(value, now), String(value)).toBeUndefined()
    }
  })
})

// The dispatcher with a real receiver: the next request comes no sooner than the receiver's
// Retry-After asked, although the backoff alone would have retried within 100 ms.
let t: TestApp
let receiver: Receiver
beforeAll(async () => {
  t = await buildTestApp(
    { WEBHOOKS_ALLOW_LOCAL: 'true', WEBHOOKS_POLL_MS: '20' },
    { webhookDispatcher: { retry: { baseMs: 50, capMs: 100 } } },
  )
})
afterAll(async () => {
  await receiver?.close()
  await t?.close()
})

describe('the dispatcher', () => {
  it("waits out a 503's delay-seconds and a 429's HTTP-date, and says when in the delivery history", async () => {
    const asked = new Map<string, () => Record<string, string>>([
      ['order.placed', () => ({ 'retry-after': '2' })],
      // Whole seconds: at least 2 s from now, at most 3 s.
      ['order.shipped', () => ({ 'retry-after': new Date(Date.now() + 3000).toUTCString() })],
    ])
    receiver = await startReceiver((r) => {
      const first = receiver.received.filter((x) => x.type === r.type).length === 1
      const headers = asked.get(r.type)?.()
      if (!first || !headers) return 200
      return { status: r.type === 'order.placed' ? 503 : 429, headers }
    })
    const endpoint = await insertEndpoint(t.app.db, receiver.url, ['order.placed', 'order.shipped'])
    await insertEvents(t.app.db, [
      { type: 'order.placed', orderId: 1 },
      { type: 'order.shipped', orderId: 2 },
    ])
    t.app.webhookDispatcher.poke()

    // While they wait, the delivery history shows the next try the receiver asked for.
    const token = await addToken(t.app, await addStaff(t.app, 'ada@example.com', 'admin'))
    type Delivery = { eventType: string; status: string; nextAttemptAt: string; lastError: string }
    let waiting: Delivery[] = []
    await waitFor(async () => {
      const history = await t.app.inject({
        url: `/api/admin/webhooks/${endpoint.id}/deliveries`,
        headers: { authorization: `Bearer ${token}` },
      })
      waiting = history.json()
      return waiting.length === 2 && waiting.every((d) => d.lastError)
    })
    for (const type of ['order.placed', 'order.shipped']) {
      const first = receiver.received.find((r) => r.type === type)
      const d = waiting.find((x) => x.eventType === type)
      expect(d?.status).toBe('pending')
      expect(Date.parse(d?.nextAttemptAt ?? '')).toBeGreaterThanOrEqual((first?.at ?? 0) + 2000 - 1)
    }
    expect(waiting.find((x) => x.eventType === 'order.placed')?.lastError).toBe(
      'answered 503, Retry-After 2 s: status 503',
    )
    expect(waiting.find((x) => x.eventType === 'order.shipped')?.lastError).toMatch(
      /^answered 429, Retry-After [23] s: status 429$/,
    )

    await waitFor(async () => receiver.delivered().length === 2, 20_000)
    for (const type of ['order.placed', 'order.shipped']) {
      const [first, second] = receiver.received.filter((r) => r.type === type)
      expect(receiver.received.filter((r) => r.type === type)).toHaveLength(2)
      // Not sooner than asked: both stamps are this machine's clock, as is the database's now().
      expect((second?.at ?? 0) - (first?.at ?? 0), type).toBeGreaterThanOrEqual(2000 - 1)
    }
  })
})
