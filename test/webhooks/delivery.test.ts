import { createHmac } from 'node:crypto'
import http from 'node:http'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { sql } from 'kysely'
import { Webhook } from 'standardwebhooks'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { waitFor } from '../helpers/insights.ts'
import {
  insertEndpoint,
  insertEvents,
  type Receiver,
  startReceiver,
  webhookIdsOf,
} from '../helpers/webhook-receiver.ts'

// One app with its dispatcher polling fast and retrying fast; each test uses its own receiver
// and endpoint (endpoints of earlier tests are disabled after each test).
let t: TestApp
const receivers: Receiver[] = []
const receiver = async (...args: Parameters<typeof startReceiver>) => {
  const r = await startReceiver(...args)
  receivers.push(r)
  return r
}
const db = () => t.app.db

beforeAll(async () => {
  t = await buildTestApp(
    { WEBHOOKS_ALLOW_LOCAL: 'true', WEBHOOKS_POLL_MS: '20' },
    { webhookDispatcher: { retry: { baseMs: 100, capMs: 400 }, timeoutMs: 1000, leaseMs: 3000 } },
  )
})
afterEach(async () => {
  await db().updateTable('webhook_endpoints').set({ enabled: false }).execute()
  await Promise.all(receivers.splice(0).map((r) => r.close()))
})
afterAll(async () => {
  await t?.close()
})

/** The delivery of an event to an endpoint (throws until the event is fanned out). */
const delivery = (endpointId: number, eventId: string) =>
  db()
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('endpoint_id', '=', endpointId)
    .where('event_id', '=', eventId)
    .executeTakeFirstOrThrow()
/** Waits until `check` holds for the delivery (once it exists). */
const deliveryWhere = (
  endpointId: number,
  eventId: string,
  check: (d: Awaited<ReturnType<typeof delivery>>) => boolean,
  timeoutMs?: number,
) =>
  waitFor(async () => {
    const d = await db()
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('endpoint_id', '=', endpointId)
      .where('event_id', '=', eventId)
      .executeTakeFirst()
    return d !== undefined && check(d)
  }, timeoutMs)

describe('signing (Standard Webhooks)', () => {
  it('signs each request with the endpoint secret: the library and a plain HMAC both verify it', async () => {
    const r = await receiver()
    const { secret } = await insertEndpoint(db(), r.url)
    const data = { orderNumber: 'ABCD-1234', totalCents: 1999, note: 'ünïcode ✓' }
    const [eventId] = await insertEvents(db(), [{ type: 'order.placed', orderId: 7, data }])
    await waitFor(async () => r.received.length === 1)
    const got = r.received[0]
    if (!got) throw new Error('nothing received')

    expect([got.id]).toEqual(await webhookIdsOf(db(), [eventId as string]))
    const body = JSON.parse(got.body)
    expect(body.type).toBe('order.placed')
    expect(body.data).toEqual(data)
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp)
    expect(Math.abs(Number(got.timestamp) - Date.now() / 1000)).toBeLessThan(10)

    const headers = {
      'webhook-id': got.id,
      'webhook-timestamp': got.timestamp,
      'webhook-signature': got.signature,
    }
    expect(new Webhook(secret).verify(got.body, headers)).toEqual(body)
    // Independently: HMAC-SHA256 of "id.timestamp.body", keyed with the base64 after whsec_.
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
    const mac = createHmac('sha256', key)
      .update(`${got.id}.${got.timestamp}.${got.body}`)
      .digest('base64')
    expect(got.signature).toBe(`v1,${mac}`)
    // Another secret, or a changed body, does not verify: the check above can fail.
    const other = `whsec_${Buffer.alloc(32, 1).toString('base64')}`
    expect(() => new Webhook(other).verify(got.body, headers)).toThrow()
    expect(() => new Webhook(secret).verify(got.body.replace('1999', '1998'), headers)).toThrow()
  })
})

describe('retries', () => {
  it('retries a 500 with backoff, then records the 2xx; the same webhook-id every time', async () => {
    const r = await receiver((_r, n) => (n <= 2 ? 500 : 200))
    const endpoint = await insertEndpoint(db(), r.url)
    const [eventId] = await insertEvents(db(), [{ type: 'order.placed', orderId: 1 }])
    await deliveryWhere(endpoint.id, eventId as string, (d) => d.status !== 'pending')
    const row = await delivery(endpoint.id, eventId as string)
    expect(row.status).toBe('delivered')
    expect(row.attempts).toBe(3)
    expect(row.last_response_status).toBe(200)
    expect(row.last_error).toBeNull()
    const [sent] = await webhookIdsOf(db(), [eventId as string])
    expect(r.received.map((x) => x.id)).toEqual(Array(3).fill(sent))
    // The same body each time; a fresh timestamp and signature per attempt is allowed.
    expect(new Set(r.received.map((x) => x.body)).size).toBe(1)
    // Backoff: full jitter under 100 ms then 200 ms; the attempts were not all at once.
    const first = r.received[0]?.at ?? 0
    const last = r.received[2]?.at ?? 0
    expect(last - first).toBeLessThan(2000)
    const ep = await db()
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', endpoint.id)
      .executeTakeFirstOrThrow()
    expect(ep.failing_since).toBeNull() // set by the 500s, cleared by the 2xx
  })

  it('retries a receiver that does not answer within the timeout', async () => {
    // The receiver runs in this process, beside the app and its embedded database: a request
    // is recorded when this event loop gets to it, which a busy machine delays. The longest
    // such delay during the test is allowed for below.
    const lag = monitorEventLoopDelay({ resolution: 10 })
    lag.enable()
    const r = await receiver((_r, n) => (n === 1 ? 'stall' : 200))
    const endpoint = await insertEndpoint(db(), r.url)
    const [eventId] = await insertEvents(db(), [{ type: 'order.placed', orderId: 3 }])
    await deliveryWhere(endpoint.id, eventId as string, (d) => d.status !== 'pending')
    lag.disable()
    const row = await delivery(endpoint.id, eventId as string)
    expect(row.status).toBe('delivered')
    expect(row.attempts).toBe(2)
    const [a, b] = r.received
    // The second attempt came only after the 1 s timeout cut the first (less the time the
    // first one's arrival may have waited for this event loop).
    const maxLagMs = lag.max / 1e6
    expect((b?.at ?? 0) - (a?.at ?? 0)).toBeGreaterThanOrEqual(900 - maxLagMs)
  })

  it('gives a receiver that was down everything once it is back', async () => {
    const r = await receiver()
    await r.down()
    const endpoint = await insertEndpoint(db(), r.url)
    const ids = await insertEvents(
      db(),
      Array.from({ length: 30 }, (_, i) => ({ type: 'order.placed', orderId: 1000 + i })),
    )
    // Every delivery tried and failed at least once while the port refused connections.
    await waitFor(async () => {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from webhook_deliveries
        where endpoint_id = ${endpoint.id} and attempts >= 1 and status = 'pending'
          and last_error like 'could not connect: ECONNREFUSED%'
      `.execute(db())
      return rows[0]?.n === 30
    })
    expect(r.received).toHaveLength(0)
    await r.up()
    await waitFor(async () => new Set(r.received.map((x) => x.id)).size === 30)
    expect(new Set(r.received.map((x) => x.id))).toEqual(new Set(await webhookIdsOf(db(), ids)))
    await waitFor(async () => {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from webhook_deliveries
        where endpoint_id = ${endpoint.id} and status = 'delivered'
      `.execute(db())
      return rows[0]?.n === 30
    }, 5000)
  })

  it('reads at most 1 KiB of an answer and keeps 200 characters of it; a redirect is a failure', async () => {
    // A receiver answering 500 with 2 KiB and then never ending its answer, and one redirecting.
    // Reading the whole answer would wait for the 1 s timeout; reading 1 KiB does not.
    let askedAt = 0
    const server = http.createServer((_req, res) => {
      askedAt ||= Date.now()
      res.writeHead(500, { 'content-type': 'text/plain' })
      res.write('x'.repeat(2048))
    })
    const redirect = http.createServer((_req, res) =>
      res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end(),
    )
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
    await new Promise<void>((ok) => redirect.listen(0, '127.0.0.1', ok))
    try {
      const port = (s: typeof server) => (s.address() as { port: number }).port
      const e1 = await insertEndpoint(db(), `http://127.0.0.1:${port(server)}/`)
      const e2 = await insertEndpoint(db(), `http://127.0.0.1:${port(redirect)}/`)
      const [eventId] = await insertEvents(db(), [{ type: 'order.placed', orderId: 4 }])
      await deliveryWhere(e1.id, eventId as string, (d) => d.last_error !== null)
      expect(Date.now() - askedAt).toBeLessThan(800) // recorded without waiting for the timeout
      await deliveryWhere(e2.id, eventId as string, (d) => d.last_error !== null)
      const row = await delivery(e1.id, eventId as string)
      expect(row.last_response_status).toBe(500)
      expect(row.last_error).toBe(`answered 500: ${'x'.repeat(200)}`)
      const redirected = await delivery(e2.id, eventId as string)
      expect(redirected.status).toBe('pending')
      expect(redirected.last_response_status).toBe(302)
      expect(redirected.last_error).toBe('answered 302 (redirects are not followed)')
    } finally {
      await db().updateTable('webhook_endpoints').set({ enabled: false }).execute()
      server.closeAllConnections()
      redirect.closeAllConnections()
      await new Promise((ok) => server.close(ok))
      await new Promise((ok) => redirect.close(ok))
    }
  })
})

describe('fan-out', () => {
  it('makes one delivery per enabled endpoint wanting the type; unwanted events are only marked', async () => {
    const r = await receiver()
    const placed = await insertEndpoint(db(), r.url, ['order.placed'])
    const shipped = await insertEndpoint(db(), r.url, ['order.shipped'])
    const off = await insertEndpoint(db(), r.url, ['order.placed'])
    await db()
      .updateTable('webhook_endpoints')
      .set({ enabled: false })
      .where('id', '=', off.id)
      .execute()
    const ids = await insertEvents(db(), [
      { type: 'order.placed', orderId: 50 },
      { type: 'product.out_of_stock', orderId: null },
      { type: 'order.shipped', orderId: 50 },
    ])
    await waitFor(async () => {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from outbox where fanned_out_at is null
      `.execute(db())
      return rows[0]?.n === 0
    })
    await waitFor(async () => r.delivered().length === 2)
    const rows = await db()
      .selectFrom('webhook_deliveries')
      .select(['endpoint_id', 'event_id', 'order_id'])
      .where('event_id', 'in', ids)
      .orderBy('event_id')
      .execute()
    expect(rows.map((x) => [x.endpoint_id, String(x.event_id), String(x.order_id)])).toEqual([
      [placed.id, ids[0], '50'],
      [shipped.id, ids[2], '50'],
    ])
  })
})

describe('per-order ordering', () => {
  it("keeps an order's events in order across a failed first attempt; other orders go on", async () => {
    // The first attempt of order 100's order.placed fails; its packed and shipped wait for it.
    let placedFailed = 0
    const r = await receiver((x) =>
      x.type === 'order.placed' && x.data.orderId === 100 && !placedFailed++ ? 500 : 200,
    )
    await insertEndpoint(db(), r.url)
    await insertEvents(db(), [
      { type: 'order.placed', orderId: 100 },
      { type: 'order.placed', orderId: 101 },
      { type: 'order.packed', orderId: 100 },
      { type: 'order.packed', orderId: 101 },
      { type: 'order.shipped', orderId: 100 },
    ])
    await waitFor(async () => r.delivered().length === 5)
    const of = (orderId: number) =>
      r.received.filter((x) => x.data.orderId === orderId).map((x) => `${x.type}:${x.answered}`)
    expect(of(100)).toEqual([
      'order.placed:500',
      'order.placed:200',
      'order.packed:200',
      'order.shipped:200',
    ])
    expect(of(101)).toEqual(['order.placed:200', 'order.packed:200'])
  })
})

describe('URL policy at delivery time', () => {
  it('refuses a loopback URL when local addresses are not allowed, and sends nothing', async () => {
    const strict = await buildTestApp(
      { WEBHOOKS_ALLOW_LOCAL: 'false', WEBHOOKS_POLL_MS: '20' },
      { webhookDispatcher: { retry: { baseMs: 50, capMs: 100 } } },
    )
    try {
      const r = await receiver()
      const endpoint = await insertEndpoint(strict.app.db, r.url)
      const [eventId] = await insertEvents(strict.app.db, [{ type: 'order.placed', orderId: 9 }])
      const row = () =>
        strict.app.db
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('endpoint_id', '=', endpoint.id)
          .where('event_id', '=', eventId as string)
          .executeTakeFirst()
      await waitFor(async () => ((await row())?.attempts ?? 0) >= 2)
      const d = await row()
      expect(d?.status).toBe('pending')
      expect(d?.last_response_status).toBeNull()
      expect(d?.last_error).toMatch(/^URL refused: The URL must use https/)
      expect(r.received).toHaveLength(0)
    } finally {
      await strict.close()
    }
  })

  it('checks the name at each delivery and connects only to the address it checked', async () => {
    const r = await receiver()
    // A name that resolves nowhere: the policy's answer (127.0.0.1) is what the send uses.
    let answer = '127.0.0.1'
    const { checkWebhookUrl } = await import('../../src/webhooks/url-policy.ts')
    const strict = await buildTestApp(
      { WEBHOOKS_POLL_MS: '20' },
      {
        webhookDispatcher: {
          retry: { baseMs: 50, capMs: 100 },
          check: (url) =>
            checkWebhookUrl(url, {
              allowLocal: true,
              lookup: async () => [{ address: answer, family: 4 }],
            }),
        },
      },
    )
    try {
      const endpoint = await insertEndpoint(strict.app.db, `http://hooks.invalid:${r.port}/hook`, [
        'order.placed',
      ])
      await insertEvents(strict.app.db, [{ type: 'order.placed', orderId: 1 }])
      await waitFor(async () => r.delivered().length === 1)
      // Now the name resolves to the metadata service's address (refused even where local
      // addresses are allowed): refused at delivery, nothing sent.
      answer = '169.254.169.254'
      const [second] = await insertEvents(strict.app.db, [{ type: 'order.placed', orderId: 2 }])
      await waitFor(async () => {
        const d = await strict.app.db
          .selectFrom('webhook_deliveries')
          .select('last_error')
          .where('endpoint_id', '=', endpoint.id)
          .where('event_id', '=', second as string)
          .executeTakeFirst()
        return /^URL refused: .*169\.254\.169\.254.*metadata/.test(d?.last_error ?? '')
      })
      expect(r.received).toHaveLength(1)
    } finally {
      await strict.close()
    }
  })
})

describe('give up and disable', () => {
  it('marks a delivery failed after the retry window and disables an endpoint failing too long', async () => {
    const r = await receiver(() => 500)
    const quick = await buildTestApp(
      { WEBHOOKS_ALLOW_LOCAL: 'true', WEBHOOKS_POLL_MS: '20' },
      {
        webhookDispatcher: {
          retry: { baseMs: 20, capMs: 50, windowMs: 3000, disableAfterMs: 5000 },
        },
      },
    )
    try {
      const qdb = quick.app.db
      const endpoint = await insertEndpoint(qdb, r.url)
      const [first] = await insertEvents(qdb, [{ type: 'order.placed', orderId: 1 }])
      const row = (eventId: string) =>
        qdb
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('event_id', '=', eventId)
          .executeTakeFirst()
      await waitFor(async () => (await row(first as string))?.status === 'failed')
      const failed = await row(first as string)
      if (!failed) throw new Error('no delivery')
      expect(failed.attempts).toBeGreaterThan(1)
      expect(failed.last_response_status).toBe(500)
      expect(quick.app.webhookDispatcher.stats.failed).toBeGreaterThanOrEqual(1)
      // Still enabled: failing for less than 5 s. Keep failing past it.
      const ep = () =>
        qdb
          .selectFrom('webhook_endpoints')
          .selectAll()
          .where('id', '=', endpoint.id)
          .executeTakeFirstOrThrow()
      expect((await ep()).enabled).toBe(true)
      await insertEvents(qdb, [{ type: 'order.placed', orderId: 2 }])
      await waitFor(async () => !(await ep()).enabled)
      const disabled = await ep()
      // The reason holds no time (the pages show failing_since beside it): the span of the policy.
      expect(disabled.disabled_reason).toBe(
        'every delivery failed for 5 seconds, with no 2xx; re-enable it once it answers',
      )
      expect(disabled.failing_since).not.toBeNull()
      // Disabled: its pending delivery waits, untried.
      const seen = r.received.length
      await new Promise((ok) => setTimeout(ok, 300))
      expect(r.received.length).toBe(seen)
      const metrics = await quick.app.inject({ url: '/metrics' })
      // Given up: the first delivery, and the second if its window ended before the disabling.
      const { failed: gaveUp, retried } = quick.app.webhookDispatcher.stats
      expect(metrics.body).toContain(`\nwebhook_deliveries_failed_total ${gaveUp}\n`)
      expect(metrics.body).toContain(`\nwebhook_delivery_retries_total ${retried}\n`)
      expect(metrics.body).toMatch(/^webhook_delivery_retries_total [1-9]\d*$/m)
    } finally {
      await quick.close()
    }
  })
})

describe('metrics', () => {
  it('shows pending deliveries, their oldest age and the events not fanned out', async () => {
    const r = await receiver(() => 503)
    await insertEndpoint(db(), r.url)
    await insertEvents(db(), [
      { type: 'order.placed', orderId: 300 },
      { type: 'order.placed', orderId: 301 },
    ])
    await waitFor(async () => r.received.length >= 2)
    await new Promise((ok) => setTimeout(ok, 50))
    const res = await t.app.inject({ url: '/metrics' })
    expect(res.body).toMatch(/^webhook_deliveries_pending 2$/m)
    expect(res.body).toMatch(/^webhook_outbox_not_fanned_out 0$/m)
    const age = Number(/^webhook_oldest_pending_seconds (\S+)$/m.exec(res.body)?.[1])
    expect(age).toBeGreaterThan(0)
    expect(age).toBeLessThan(30)
    expect(res.body).toMatch(/^webhook_deliveries_delivered_total [1-9]\d*$/m)
  })
})
