import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { loadConfig } from '../../src/config.ts'
import { placeOrder } from '../../src/orders/place-order.ts'
import { trustProxy } from '../../src/plugins/client-address.ts'
import { buildTestApp, customer, type TestApp, usingPostgres } from '../helpers/context.ts'

const orderBody = (overrides: object = {}) => ({
  items: [{ sku: 'MUG-001', quantity: 1 }],
  customer,
  ...overrides,
})

let t: TestApp
/** A second app, with RATE_LIMIT_MAX=0; the readiness test un-applies one of its migrations. */
let spare: TestApp
beforeAll(async () => {
  t = await buildTestApp({ METRICS_TOKEN: 'a-long-enough-secret-token' }, { logs: true })
  spare = await buildTestApp({ RATE_LIMIT_MAX: '0' }, { logs: true })
})
afterAll(async () => {
  await t?.close()
  await spare?.close()
})

const post = (body: unknown, key = randomUUID(), headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: { 'idempotency-key': key, ...headers },
    payload: body as object,
  })
const scrape = async () => {
  const res = await t.app.inject({
    url: '/metrics',
    headers: { authorization: 'Bearer a-long-enough-secret-token' },
  })
  expect(res.statusCode).toBe(200)
  return res.body
}
const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('request logs', () => {
  it('writes one line per request with request id, method, route, status and duration', async () => {
    t.output.length = 0
    const res = await t.app.inject({ url: '/api/products' })
    const id = res.headers['x-request-id']
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    const mine = t.lines().filter((l) => l.reqId === id)
    expect(mine).toHaveLength(1)
    expect(mine[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      method: 'GET',
      route: '/api/products',
      statusCode: 200,
    })
    expect(mine[0]?.ms).toBeTypeOf('number')
  })

  it('logs the route template, never the URL (an order number is a capability)', async () => {
    t.output.length = 0
    await t.app.inject({ url: '/api/orders/ABCDE-FGHJK' })
    expect(t.output.join('')).not.toContain('ABCDE-FGHJK')
    expect(t.lines()[0]).toMatchObject({ route: '/api/orders/:orderNumber', statusCode: 404 })
  })

  it('honours and echoes a sane incoming X-Request-Id, replaces an unsafe one', async () => {
    t.output.length = 0
    const kept = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'edge-42.abc' } })
    expect(kept.headers['x-request-id']).toBe('edge-42.abc')
    expect(t.lines().some((l) => l.reqId === 'edge-42.abc')).toBe(true)

    for (const bad of ['x'.repeat(200), 'a"b', 'a b']) {
      const res = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': bad } })
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    }
    expect(t.output.join('')).not.toContain('x'.repeat(200))
  })

  it('keeps shoppers e-mail and address out of the log when the database refuses an order', async () => {
    const email = 'refused.shopper@example.com'
    await sql`alter table orders add constraint ops_test_refuse check (email <> ${sql.lit(email)})`.execute(
      t.app.db,
    )
    try {
      const shopper = { ...customer, email, address: '99 Secret Lane' }
      // The raw error does carry the shopper's data (pg: the failing row in `detail`; PGlite:
      // the statement's parameters too): that is what must not reach the log.
      const raw = await placeOrder(t.app.db, {
        items: [{ sku: 'MUG-001', quantity: 1 }],
        customer: shopper,
        idempotencyKey: `raw:${randomUUID()}`,
      }).catch((err: unknown) => err)
      expect(JSON.stringify(raw, Object.getOwnPropertyNames(raw))).toContain(email)

      t.output.length = 0
      const res = await post(orderBody({ customer: shopper }))
      expect(res.statusCode).toBe(500)
      expect(res.body).not.toContain(email)
      const logged = t.output.join('')
      expect(logged).toContain('request failed')
      expect(logged).toContain('ops_test_refuse')
      expect(logged).not.toContain(email)
      expect(logged).not.toContain('99 Secret Lane')
    } finally {
      await sql`alter table orders drop constraint ops_test_refuse`.execute(t.app.db)
    }
  })

  it('redacts customer fields in anything logged by mistake', () => {
    t.output.length = 0
    t.app.log.info({ customer, order: { email: 'x@example.com', address: '1 Road' } }, 'oops')
    const logged = t.output.join('')
    expect(logged).toContain('oops')
    expect(logged).not.toContain(customer.email)
    expect(logged).not.toContain('x@example.com')
    expect(logged).not.toContain('1 Road')
  })
})

describe('health', () => {
  it('/healthz and /readyz answer 200 when the database is there and migrated', async () => {
    expect((await t.app.inject('/healthz')).json()).toEqual({ status: 'ok' })
    const ready = await t.app.inject('/readyz')
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toEqual({ status: 'ready' })
  })

  it('/readyz answers 503 while a migration is pending', async () => {
    const { rows } = await sql<{ name: string }>`
      delete from kysely_migration where name = (select max(name) from kysely_migration) returning name
    `.execute(spare.app.db)
    expect(rows).toHaveLength(1)
    const res = await spare.app.inject('/readyz')
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBeDefined()
    expect(res.json()).toMatchObject({ reason: 'migrations are pending' })
    expect((await spare.app.inject('/healthz')).statusCode).toBe(200)
  })
})

describe('metrics', () => {
  it('needs the bearer token when METRICS_TOKEN is set', async () => {
    expect((await t.app.inject('/metrics')).statusCode).toBe(401)
    const wrong = await t.app.inject({ url: '/metrics', headers: { authorization: 'Bearer nope' } })
    expect(wrong.statusCode).toBe(401)
  })

  it('challenges as the staff API does (RFC 6750 §3.1): an error code only for a bad token or header', async () => {
    const cases: [string | undefined, number, string][] = [
      [undefined, 401, 'Bearer realm="metrics"'],
      ['Basic dXNlcjpwYXNz', 401, 'Bearer realm="metrics"'],
      ['Bearer nope', 401, 'Bearer realm="metrics", error="invalid_token"'],
      ['bearer a-long-enough-secret-tokeN', 401, 'Bearer realm="metrics", error="invalid_token"'],
      ['Bearer', 400, 'Bearer realm="metrics", error="invalid_request"'],
      ['Bearer two words', 400, 'Bearer realm="metrics", error="invalid_request"'],
    ]
    for (const [authorization, status, challenge] of cases) {
      const res = await t.app.inject({
        url: '/metrics',
        headers: authorization === undefined ? {} : { authorization },
      })
      expect(res.statusCode, authorization).toBe(status)
      expect(res.headers['www-authenticate'], authorization).toBe(challenge)
      expect(res.body).not.toContain('http_request_duration_seconds')
    }
    const right = await t.app.inject({
      url: '/metrics',
      headers: { authorization: 'Bearer a-long-enough-secret-token' },
    })
    expect(right.statusCode).toBe(200)
    expect(right.headers['www-authenticate']).toBeUndefined()
    // The scheme in any case (RFC 9110 §11.1), as the staff API reads it.
    const lower = await t.app.inject({
      url: '/metrics',
      headers: { authorization: 'bearer a-long-enough-secret-token' },
    })
    expect(lower.statusCode).toBe(200)
  })

  it('takes a METRICS_TOKEN that is no b64token as it always did, sent exactly', async () => {
    const odd = await buildTestApp({
      METRICS_TOKEN: 'pass phrase, with "spaces"!',
      MAX_EVENT_LOOP_DELAY_MS: '0',
    })
    try {
      const scrape = (authorization: string) =>
        odd.app.inject({ url: '/metrics', headers: { authorization } })
      expect((await scrape('Bearer pass phrase, with "spaces"!')).statusCode).toBe(200)
      const wrong = await scrape('Bearer pass phrase, with "spaces"?')
      expect(wrong.statusCode).toBe(400)
      expect(wrong.headers['www-authenticate']).toBe(
        'Bearer realm="metrics", error="invalid_request"',
      )
    } finally {
      await odd.close()
    }
  })

  it('counts orders placed and rejected by reason', async () => {
    const before = await scrape()
    const count = (text: string, series: string) => sample(text, series) ?? 0
    const series = {
      placed: 'orders_placed_total',
      validation: 'orders_rejected_total{reason="validation"}',
      out_of_stock: 'orders_rejected_total{reason="out_of_stock"}',
      price_changed: 'orders_rejected_total{reason="price_changed"}',
      duplicate: 'orders_rejected_total{reason="duplicate"}',
    }

    const key = randomUUID()
    expect((await post(orderBody(), key)).statusCode).toBe(201)
    expect((await post(orderBody(), key)).statusCode).toBe(200) // replay: no second order
    expect(
      (await post(orderBody({ items: [{ sku: 'TEE-002', quantity: 1 }] }), key)).statusCode,
    ).toBe(422)
    expect((await post({ items: [] })).statusCode).toBe(400)
    await t.app.db.updateTable('products').set({ stock: 0 }).where('sku', '=', 'CAP-003').execute()
    expect((await post(orderBody({ items: [{ sku: 'CAP-003', quantity: 1 }] }))).statusCode).toBe(
      409,
    )
    expect(
      (await post(orderBody({ items: [{ sku: 'TEE-002', quantity: 1, unitPriceCents: 1 }] })))
        .statusCode,
    ).toBe(409)
    const form = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'qty-MUG-001=0',
    })
    expect(form.statusCode).toBe(400)

    const after = await scrape()
    const delta = (s: string) => count(after, s) - count(before, s)
    expect(delta(series.placed)).toBe(1)
    expect(delta(series.duplicate)).toBe(2)
    expect(delta(series.validation)).toBe(2)
    expect(delta(series.out_of_stock)).toBe(1)
    expect(delta(series.price_changed)).toBe(1)
  })

  it('counts how many orders and lookups shared a statement', async () => {
    const count = (text: string) => sample(text, 'orders_batch_size_count{kind="place"}') ?? 0
    const sum = (text: string) => sample(text, 'orders_batch_size_sum{kind="place"}') ?? 0
    const before = await scrape()
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => post(orderBody(), randomUUID())),
    )
    expect(answers.map((a) => a.statusCode)).toEqual([201, 201, 201, 201, 201])
    await t.app.inject('/api/orders/ZZZZZ-ZZZZZ') // not one of ours: read from the database
    const after = await scrape()
    expect(count(after) - count(before)).toBe(1) // five orders arriving together: one batch
    expect(sum(after) - sum(before)).toBe(5)
    expect(after).toMatch(/^orders_batch_size_count\{kind="find"\} \d+$/m)
  })

  it('times requests by route template and status, never by raw URL', async () => {
    await t.app.inject('/api/orders/ZZZZZ-ZZZZZ')
    const text = await scrape()
    expect(text).not.toContain('ZZZZZ')
    expect(
      sample(
        text,
        'http_request_duration_seconds_count{method="GET",route="/api/orders/:orderNumber",status_code="404"}',
      ),
    ).toBeGreaterThanOrEqual(1)
    expect(text).toMatch(/^http_request_duration_seconds_bucket\{le="0.005",method="GET"/m)
  })

  it('reports the pool, the insights lag and the event loop lag', async () => {
    await post(orderBody()) // a queued sale the (switched off) folder never folds
    await new Promise((r) => setTimeout(r, 1100))
    const text = await scrape()
    expect(sample(text, 'insights_freshness_seconds')).toBeGreaterThanOrEqual(1)
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m)
    expect(text).toMatch(/^process_cpu_seconds_total /m)
    if (usingPostgres) {
      expect(sample(text, 'db_pool_connections{state="idle"}')).toBeGreaterThanOrEqual(1)
      expect(sample(text, 'db_pool_connections{state="in_use"}')).toBeGreaterThanOrEqual(0)
      expect(sample(text, 'db_pool_connections{state="waiting"}')).toBe(0)
    }
  })
})

describe('protection', () => {
  it('reads TRUST_PROXY as a flag, a hop count or a list of proxies, and refuses anything else', () => {
    expect(trustProxy('false')).toBe(false)
    expect(trustProxy('true')).toBe(true)
    expect(trustProxy('10.0.0.0/8, 192.168.1.1')).toBe('10.0.0.0/8, 192.168.1.1')
    const oneHop = trustProxy('1') as (address: string, hop: number) => boolean
    expect([oneHop('10.0.0.1', 0), oneHop('10.0.0.1', 1)]).toEqual([true, false])
    expect(() => loadConfig({ TRUST_PROXY: 'yes; rm -rf' })).toThrow(/TRUST_PROXY/)
    expect(loadConfig({}).TRUST_PROXY).toBe('false')
  })

  it('sends security headers with a CSP that allows no inline script or style', async () => {
    for (const url of ['/', '/api/products', '/nowhere']) {
      const res = await t.app.inject({ url, headers: { accept: 'text/html' } })
      const csp = String(res.headers['content-security-policy'])
      expect(csp).toContain("default-src 'self'")
      expect(csp).toContain("script-src 'self'")
      expect(csp).toContain("style-src 'self'")
      expect(csp).not.toContain('unsafe-inline')
      expect(res.headers['x-content-type-options']).toBe('nosniff')
      expect(res.headers['strict-transport-security']).toBeDefined()
    }
  })

  it('answers an unknown method on a known path with 405 and Allow, unknown paths with 404', async () => {
    const del = await t.app.inject({ method: 'DELETE', url: '/api/orders' })
    expect(del.statusCode).toBe(405)
    expect(del.headers.allow).toBe('POST')
    expect(del.json()).toMatchObject({ statusCode: 405, error: 'Method Not Allowed' })

    const put = await t.app.inject({ method: 'PUT', url: '/orders/ABCDE-FGHJK' })
    expect(put.statusCode).toBe(405)
    expect(put.headers.allow).toBe('GET, HEAD')

    const page = await t.app.inject({
      method: 'PATCH',
      url: '/',
      headers: { accept: 'text/html' },
    })
    expect(page.statusCode).toBe(405)
    expect(page.headers['content-type']).toContain('text/html')

    expect((await t.app.inject('/no/such/page')).statusCode).toBe(404)
    expect((await t.app.inject('/public/css/missing.css')).statusCode).toBe(404)
  })

  // Fastify reads a body before its 404 handler: `PUT /api/orders` was 405 with `{}` but 400
  // "not valid JSON" with `{`, 415 with a gzip one; QUERY without a Content-Type was 400 in
  // Fastify's words on any path. No route takes them: 405 or 404 whatever the body.
  it('answers a method or path no route takes 405 or 404 whatever its body', async () => {
    const json = { 'content-type': 'application/json' }
    const bodies = [
      { headers: json, payload: '{' },
      { headers: json, payload: '{"a": 1, "a": 2}' },
      { headers: { ...json, 'content-encoding': 'gzip' }, payload: '{}' },
      { headers: { 'content-type': 'application/json; charset=latin1' }, payload: '{}' },
      { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=%FF' },
      { headers: json, payload: `"${'x'.repeat(70_000)}"` },
    ]
    for (const body of bodies) {
      const put = await t.app.inject({ method: 'PUT', url: '/api/orders', ...body })
      expect(put.statusCode, body.payload.slice(0, 20)).toBe(405)
      expect(put.headers.allow).toBe('POST')
      expect(put.headers['accept-encoding']).toBeUndefined()
      expect(put.json()).toMatchObject({
        status: 405,
        detail: 'PUT is not allowed on /api/orders.',
      })
      const nowhere = await t.app.inject({ method: 'POST', url: '/no/such/page', ...body })
      expect(nowhere.statusCode, body.payload.slice(0, 20)).toBe(404)
    }
    const query = await t.app.inject({ method: 'QUERY', url: '/api/products' })
    expect(query.statusCode).toBe(405)
    expect(query.headers.allow).toBe('GET, HEAD')
    expect((await t.app.inject({ method: 'QUERY', url: '/api/nope' })).statusCode).toBe(404)
  })

  // @fastify/static called such a name unverifiable (its stat gets ENAMETOOLONG) and answered 403.
  it('answers a /public/ name too long for any file system as any missing file: 404', async () => {
    const a = (n: number) => 'a'.repeat(n)
    const paths = [
      `/public/${a(255)}`,
      `/public/${a(256)}`,
      `/public/${a(10_000)}`,
      `/public/${a(300)}.css`,
      `/public/css/${a(256)}`,
      `/public/${a(256)}/`,
      `/public/${'%61'.repeat(256)}`,
      `/public/${encodeURIComponent('é'.repeat(128))}`,
      // %3A stays escaped where the plugin checks the name: 300 bytes there.
      `/public/${'%3A'.repeat(100)}`,
      // Names of 200 bytes, the path over PATH_MAX.
      `/public/${`${a(200)}/`.repeat(21)}site.css`,
    ]
    for (const accept of ['application/json', 'text/html']) {
      for (const method of ['GET', 'HEAD'] as const) {
        const missing = await t.app.inject({ method, url: '/public/nope.css', headers: { accept } })
        expect(missing.statusCode).toBe(404)
        for (const url of [...paths, ...paths.map((p) => `${p}?v=1`)]) {
          const res = await t.app.inject({ method, url, headers: { accept } })
          const at = `${method} ${url.slice(0, 40)}… (${url.length}) ${accept}`
          expect(res.statusCode, at).toBe(404)
          expect(res.headers['content-type'], at).toBe(missing.headers['content-type'])
          const path = url.split('?')[0] ?? ''
          expect(res.body, at).toBe(missing.body.replaceAll('/public/nope.css', path))
        }
      }
    }
  })

  it('refuses a body over the limit with a clear 413', async () => {
    const big = orderBody({ customer: { ...customer, name: 'x'.repeat(70 * 1024) } })
    const res = await post(big)
    expect(res.statusCode).toBe(413)
    expect(res.json().message).toMatch(/at most 64 KiB/)

    const form = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
      payload: `name=${'x'.repeat(70 * 1024)}`,
    })
    expect(form.statusCode).toBe(413)
    expect(form.headers['content-type']).toContain('text/html')
    expect(form.body).toContain('at most 64 KiB')
  })

  it('rate limits orders per client address (the forwarded one behind a trusted proxy)', async () => {
    const limited = await buildTestApp({ RATE_LIMIT_MAX: '2', TRUST_PROXY: 'true' }, { logs: true })
    try {
      const order = (ip: string) =>
        limited.app.inject({
          method: 'POST',
          url: '/api/orders',
          headers: { 'idempotency-key': randomUUID(), 'x-forwarded-for': ip },
          payload: orderBody(),
        })
      expect((await order('203.0.113.7')).statusCode).toBe(201)
      const second = await order('203.0.113.7')
      expect(second.statusCode).toBe(201)
      expect(second.headers['x-ratelimit-remaining']).toBe('0')
      const third = await order('203.0.113.7')
      expect(third.statusCode).toBe(429)
      expect(third.headers['retry-after']).toBeDefined()
      expect(third.json()).toMatchObject({ statusCode: 429, error: 'Too Many Requests' })
      // The form shares the budget; pages, health and another address do not.
      const form = await limited.app.inject({
        method: 'POST',
        url: '/orders',
        headers: {
          accept: 'text/html',
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-for': '203.0.113.7',
        },
        payload: 'qty-MUG-001=1',
      })
      expect(form.statusCode).toBe(429)
      expect(form.headers['content-type']).toContain('text/html')
      const page = await limited.app.inject({
        url: '/',
        headers: { 'x-forwarded-for': '203.0.113.7' },
      })
      expect(page.statusCode).toBe(200)
      expect((await order('203.0.113.8')).statusCode).toBe(201)
    } finally {
      await limited.close()
    }
    // The default is a limit (60 a minute); RATE_LIMIT_MAX=0 switches it off altogether.
    expect((await post(orderBody())).headers['x-ratelimit-limit']).toBe('60')
    const res = await spare.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: orderBody(),
    })
    expect(res.statusCode).toBe(201)
    expect(res.headers['x-ratelimit-limit']).toBeUndefined()
  })

  it('answers 503 with Retry-After under memory pressure, but keeps /healthz and /metrics', async () => {
    const pressed = await buildTestApp({ MAX_HEAP_USED_MB: '1' }, { logs: true })
    try {
      // under-pressure samples the heap once a second.
      let res = await pressed.app.inject('/')
      for (let i = 0; i < 30 && res.statusCode !== 503; i++) {
        await new Promise((r) => setTimeout(r, 100))
        res = await pressed.app.inject('/')
      }
      expect(res.statusCode).toBe(503)
      expect(res.headers['retry-after']).toBe('10')
      // A page route: the error page with no Accept, JSON to a client that asks for it.
      expect(res.headers['content-type']).toMatch(/^text\/html/)
      expect(res.body).toMatch(/busy/)
      const json = await pressed.app.inject({ url: '/', headers: { accept: 'application/json' } })
      expect(json.statusCode).toBe(503)
      expect(json.json().message).toMatch(/busy/)
      expect((await pressed.app.inject('/healthz')).statusCode).toBe(200)
      expect((await pressed.app.inject('/metrics')).statusCode).toBe(200)
    } finally {
      await pressed.close()
    }
  })
})
