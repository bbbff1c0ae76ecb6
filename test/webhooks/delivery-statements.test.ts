import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { backoffMs } from '../../src/webhooks/backoff.ts'
import { fanOut } from '../../src/webhooks/fan-out.ts'
import { claimDue, releaseLease } from '../../src/webhooks/leases.ts'
import { defaultRetryPolicy, recordAttempt } from '../../src/webhooks/outcomes.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { insertEndpoint, insertEvents } from '../helpers/webhook-receiver.ts'

// The dispatcher's statements one by one, on an app whose dispatcher is off: each step is
// taken by the test, so what is due, leased and recorded is exact.
let t: TestApp
const db = () => t.app.db
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => {
  await t?.close()
})
beforeEach(async () => {
  await sql`truncate webhook_deliveries, outbox`.execute(db())
  await sql`delete from webhook_endpoints`.execute(db())
})

const url = 'http://127.0.0.1:9/hook'
const claimedEvents = async (limit = 100) =>
  (await claimDue(db(), limit, 30_000)).map((d) => Number(d.eventId))
const ids = (xs: string[]) => xs.map(Number)

describe('backoffMs', () => {
  it('draws below a ceiling that doubles from the base up to the cap', () => {
    const policy = { baseMs: 5000, capMs: 3_600_000 }
    const top = () => 0.999999
    expect([1, 2, 3, 4, 10, 11, 12, 100].map((n) => backoffMs(n, policy, top))).toEqual([
      4999, 9999, 19999, 39999, 2_559_997, 3_599_996, 3_599_996, 3_599_996,
    ])
    expect(backoffMs(5, policy, () => 0)).toBe(0)
    for (let i = 0; i < 1000; i++) {
      const n = 1 + (i % 15)
      const ms = backoffMs(n, policy)
      expect(ms).toBeGreaterThanOrEqual(0)
      expect(ms).toBeLessThan(Math.min(3_600_000, 5000 * 2 ** (n - 1)))
    }
  })
})

describe('fanOut', () => {
  it('marks every event and makes deliveries only for enabled endpoints wanting the type, once', async () => {
    const a = await insertEndpoint(db(), url, ['order.placed', 'order.shipped'])
    const b = await insertEndpoint(db(), url, ['order.placed'])
    const off = await insertEndpoint(db(), url, ['order.placed'])
    await db()
      .updateTable('webhook_endpoints')
      .set({ enabled: false })
      .where('id', '=', off.id)
      .execute()
    const events = await insertEvents(db(), [
      { type: 'order.placed', orderId: 1 },
      { type: 'order.packed', orderId: 1 },
      { type: 'order.shipped', orderId: 1 },
      { type: 'product.out_of_stock', orderId: null },
    ])
    expect(await fanOut(db(), 2)).toBe(2)
    expect(await fanOut(db(), 2)).toBe(2)
    expect(await fanOut(db(), 2)).toBe(0)
    const rows = await db()
      .selectFrom('webhook_deliveries')
      .select(['endpoint_id', 'event_id', 'order_id', 'status', 'attempts'])
      .orderBy('event_id')
      .orderBy('endpoint_id')
      .execute()
    expect(rows.map((r) => [r.endpoint_id, Number(r.event_id), Number(r.order_id)])).toEqual([
      [a.id, Number(events[0]), 1],
      [b.id, Number(events[0]), 1],
      [a.id, Number(events[2]), 1],
    ])
    const { rows: left } = await sql<{ n: number }>`
      select count(*)::int as n from outbox where fanned_out_at is null`.execute(db())
    expect(left[0]?.n).toBe(0)
    // An event fanned out again (marked unfanned by hand) makes no second delivery.
    await sql`update outbox set fanned_out_at = null`.execute(db())
    expect(await fanOut(db())).toBe(4)
    expect(await db().selectFrom('webhook_deliveries').select('id').execute()).toHaveLength(3)
  })
})

describe('claimDue', () => {
  it("takes an order's next event only when nothing earlier of that order is pending for that endpoint", async () => {
    const a = await insertEndpoint(db(), url)
    const b = await insertEndpoint(db(), url)
    const e = await insertEvents(db(), [
      { type: 'order.placed', orderId: 1 },
      { type: 'order.placed', orderId: 2 },
      { type: 'order.packed', orderId: 1 },
      { type: 'order.shipped', orderId: 1 },
      { type: 'order.packed', orderId: 2 },
    ])
    await fanOut(db())
    // First pass: the first event of each order, for both endpoints.
    const first = await claimDue(db(), 100, 30_000)
    expect(first.map((d) => [d.endpointId, Number(d.eventId)]).sort()).toEqual(
      [
        [a.id, Number(e[0])],
        [a.id, Number(e[1])],
        [b.id, Number(e[0])],
        [b.id, Number(e[1])],
      ].sort(),
    )
    expect(first.every((d) => d.attempts === 1)).toBe(true)
    // Leased: nothing more is due while they are in flight.
    expect(await claimedEvents()).toEqual([])
    // Order 1's placed delivered to endpoint a only: a gets order 1's packed, b does not.
    const placedToA = first.find((d) => d.endpointId === a.id && d.eventId === e[0])
    if (!placedToA) throw new Error('missing')
    await recordAttempt(db(), placedToA, { ok: true, status: 204 }, defaultRetryPolicy)
    const next = await claimDue(db(), 100, 30_000)
    expect(next.map((d) => [d.endpointId, Number(d.eventId)])).toEqual([[a.id, Number(e[2])]])
    // A failed attempt still holds the order back (pending, waiting for its retry).
    const packedToA = next[0]
    if (!packedToA) throw new Error('missing')
    await recordAttempt(
      db(),
      packedToA,
      { ok: false, status: 500, error: 'answered 500' },
      {
        ...defaultRetryPolicy,
        baseMs: 1,
      },
    )
    await new Promise((ok) => setTimeout(ok, 20))
    const retry = await claimDue(db(), 100, 30_000)
    expect(retry.map((d) => [d.endpointId, Number(d.eventId), d.attempts])).toEqual([
      [a.id, Number(e[2]), 2],
    ])
  })

  it('holds an event back while an earlier event of its order is not fanned out yet', async () => {
    await insertEndpoint(db(), url)
    const e = await insertEvents(db(), [
      { type: 'order.placed', orderId: 7 },
      { type: 'order.packed', orderId: 7 },
      { type: 'order.placed', orderId: 8 },
    ])
    // As when another instance's fan-out of the first event has not committed: deliveries of
    // the later ones exist, the first is still unfanned.
    await fanOut(db())
    await sql`delete from webhook_deliveries where event_id = ${e[0]}`.execute(db())
    await sql`update outbox set fanned_out_at = null where id = ${e[0]}`.execute(db())
    expect(await claimedEvents()).toEqual(ids([e[2] as string]))
    await fanOut(db())
    expect(await claimedEvents()).toEqual(ids([e[0] as string]))
  })

  it('skips deliveries of a disabled endpoint and takes at most the limit, oldest due first', async () => {
    const a = await insertEndpoint(db(), url, ['order.placed'])
    const off = await insertEndpoint(db(), url, ['order.placed'])
    await insertEvents(
      db(),
      Array.from({ length: 5 }, (_, i) => ({ type: 'order.placed', orderId: 100 + i })),
    )
    await fanOut(db())
    await db()
      .updateTable('webhook_endpoints')
      .set({ enabled: false })
      .where('id', '=', off.id)
      .execute()
    const taken = await claimDue(db(), 3, 30_000)
    expect(taken).toHaveLength(3)
    expect(taken.every((d) => d.endpointId === a.id)).toBe(true)
    expect(await claimDue(db(), 3, 30_000)).toHaveLength(2)
    expect(await claimDue(db(), 3, 30_000)).toHaveLength(0)
  })
})

describe('recordAttempt', () => {
  const oneDelivery = async () => {
    const endpoint = await insertEndpoint(db(), url, ['order.placed'])
    await insertEvents(db(), [{ type: 'order.placed', orderId: 1 }])
    await fanOut(db())
    const [d] = await claimDue(db(), 1, 30_000)
    if (!d) throw new Error('nothing due')
    return { endpoint, d }
  }
  const row = (id: string) =>
    db()
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where(sql<boolean>`id = ${id}`)
      .executeTakeFirstOrThrow()
  const endpointRow = (id: number) =>
    db().selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirstOrThrow()

  it('schedules a failure within the backoff ceiling and keeps status and error', async () => {
    const { endpoint, d } = await oneDelivery()
    const policy = { ...defaultRetryPolicy, baseMs: 60_000 }
    const result = await recordAttempt(
      db(),
      d,
      { ok: false, status: 503, error: 'answered 503: busy' },
      policy,
      () => 0.5,
    )
    expect(result).toEqual({ recorded: 'retry', endpointDisabled: false })
    const r = await row(d.id)
    expect(r.status).toBe('pending')
    expect(r.last_response_status).toBe(503)
    expect(r.last_error).toBe('answered 503: busy')
    const wait = r.next_attempt_at.getTime() - Date.now()
    expect(wait).toBeGreaterThan(25_000) // half of the first ceiling (60 s), less time passed
    expect(wait).toBeLessThanOrEqual(30_000)
    expect((await endpointRow(endpoint.id)).failing_since).not.toBeNull()
    // A 2xx of a later attempt clears the endpoint's failing_since.
    await sql`update webhook_deliveries set next_attempt_at = now()`.execute(db())
    const [again] = await claimDue(db(), 1, 30_000)
    if (!again) throw new Error('not due')
    expect(again.attempts).toBe(2)
    expect(await recordAttempt(db(), again, { ok: true, status: 200 }, policy)).toEqual({
      recorded: 'delivered',
      endpointDisabled: false,
    })
    const done = await row(d.id)
    expect(done.status).toBe('delivered')
    expect(done.delivered_at).not.toBeNull()
    expect(done.last_error).toBeNull()
    expect((await endpointRow(endpoint.id)).failing_since).toBeNull()
  })

  it('writes nothing for an attempt whose lease passed to another', async () => {
    const { d } = await oneDelivery()
    // The lease ran out and another dispatcher took it (attempt 2).
    await sql`update webhook_deliveries set next_attempt_at = now()`.execute(db())
    const [other] = await claimDue(db(), 1, 30_000)
    expect(other?.attempts).toBe(2)
    expect(await recordAttempt(db(), d, { ok: true, status: 200 }, defaultRetryPolicy)).toEqual({
      recorded: 'stale',
      endpointDisabled: false,
    })
    expect((await row(d.id)).status).toBe('pending')
    expect(await releaseLease(db(), d)).toBe(false)
    expect(await releaseLease(db(), other as typeof d)).toBe(true)
    expect((await row(d.id)).next_attempt_at.getTime()).toBeLessThanOrEqual(Date.now() + 1000)
  })

  describe("a 429's or 503's Retry-After", () => {
    const busy = (retryAfterMs: number) => ({
      ok: false as const,
      status: 503,
      error: 'answered 503, Retry-After …',
      retryAfterMs,
    })
    const waitOf = async (id: string) => (await row(id)).next_attempt_at.getTime() - Date.now()
    const hour = 3_600_000

    it('waits at least as long as the receiver asked, past the backoff cap', async () => {
      const { d } = await oneDelivery()
      // The backoff alone would retry at once (random 0), and never wait more than the 1 h cap.
      const result = await recordAttempt(db(), d, busy(2 * hour), defaultRetryPolicy, () => 0)
      expect(result).toEqual({ recorded: 'retry', endpointDisabled: false })
      const r = await row(d.id)
      expect(r.status).toBe('pending')
      expect(r.last_error).toBe('answered 503, Retry-After …')
      expect(await waitOf(d.id)).toBeGreaterThan(2 * hour - 5000)
      expect(await waitOf(d.id)).toBeLessThanOrEqual(2 * hour)
    })

    it('keeps the longer backoff when the receiver asks for less', async () => {
      const { d } = await oneDelivery()
      const policy = { ...defaultRetryPolicy, baseMs: 60_000 }
      await recordAttempt(db(), d, busy(1000), policy, () => 0.5)
      const wait = await waitOf(d.id)
      expect(wait).toBeGreaterThan(25_000)
      expect(wait).toBeLessThanOrEqual(30_000)
    })

    it('waits up to the end of the retry window, and gives the delivery up when the wait ends after it', async () => {
      const { d } = await oneDelivery()
      // Made 23 h ago: an hour of its 24 h window is left.
      await sql`update webhook_deliveries set created_at = now() - interval '23 hours'`.execute(
        db(),
      )
      await recordAttempt(db(), d, busy(hour / 2), defaultRetryPolicy, () => 0)
      expect((await row(d.id)).status).toBe('pending')
      expect(await waitOf(d.id)).toBeGreaterThan(hour / 2 - 5000)

      await sql`update webhook_deliveries set next_attempt_at = now()`.execute(db())
      const [again] = await claimDue(db(), 1, 30_000)
      if (!again) throw new Error('not due')
      expect(await recordAttempt(db(), again, busy(2 * hour), defaultRetryPolicy)).toEqual({
        recorded: 'failed',
        endpointDisabled: false,
      })
      const r = await row(d.id)
      expect(r.status).toBe('failed')
      expect(r.last_error).toBe(
        "answered 503, Retry-After …; given up: the wait it asks for ends after the delivery's retry window",
      )
    })

    it('gives up at once on an absurd wait, without overflowing an interval', async () => {
      for (const absurd of [1e20 * 1000, Number.POSITIVE_INFINITY]) {
        await sql`truncate webhook_deliveries, outbox`.execute(db())
        const { d } = await oneDelivery()
        expect((await recordAttempt(db(), d, busy(absurd), defaultRetryPolicy)).recorded).toBe(
          'failed',
        )
        expect((await row(d.id)).status).toBe('failed')
      }
    })
  })

  it('gives up after the window, and disables an endpoint failing for longer than allowed', async () => {
    const { endpoint, d } = await oneDelivery()
    const failure = { ok: false as const, status: null, error: 'could not connect: ECONNREFUSED' }
    // Inside the window: retried; failing_since set now, so not disabled.
    expect(await recordAttempt(db(), d, failure, defaultRetryPolicy)).toEqual({
      recorded: 'retry',
      endpointDisabled: false,
    })
    // Made 25 h ago, failing for 4 days: given up, endpoint disabled.
    await sql`update webhook_deliveries set created_at = now() - interval '25 hours', next_attempt_at = now()`.execute(
      db(),
    )
    await sql`update webhook_endpoints set failing_since = now() - interval '4 days'`.execute(db())
    const [again] = await claimDue(db(), 1, 30_000)
    if (!again) throw new Error('not due')
    expect(await recordAttempt(db(), again, failure, defaultRetryPolicy)).toEqual({
      recorded: 'failed',
      endpointDisabled: true,
    })
    expect((await row(d.id)).status).toBe('failed')
    const ep = await endpointRow(endpoint.id)
    expect(ep.enabled).toBe(false)
    // A plain reason; since when it failed stays in failing_since (the API's failingSince).
    expect(ep.disabled_reason).toBe(
      'every delivery failed for 3 days, with no 2xx; re-enable it once it answers',
    )
    expect(ep.failing_since).not.toBeNull()
  })
})
