import { randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type App, buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { placeOrder } from '../../src/orders/place-order.ts'
import { buildTestApp, type TestApp, testDatabase } from '../helpers/context.ts'
import {
  apiOrder,
  formOrder,
  inhumaneMessage,
  median,
  missingSecurityHeaders,
  orderCustomer,
  pageMessages,
  runs,
  timeLimit,
} from '../helpers/reliability.ts'

// Soak runs (SOAK=1, RELIABILITY_RUNS) take longer than the default 30 s.
vi.setConfig({ testTimeout: timeLimit })

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const randomNumber = () => {
  const chars = [...randomBytes(10)].map((b) => crockford[b % 32]).join('')
  return `${chars.slice(0, 5)}-${chars.slice(5)}`
}
const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }
// Internal ids start here, so any that leaks into a page or a reply is easy to find.
const idBase = 987_654_321_000

describe('the order number space', () => {
  let t: TestApp
  const numbers: string[] = []
  const notCached: string[] = []
  const bodies: string[] = []

  beforeAll(async () => {
    t = await buildTestApp({ RATE_LIMIT_MAX: '0' })
    await sql`alter table orders alter column id restart with ${sql.lit(idBase + 1)}`.execute(
      t.app.db,
    )
    for (let i = 0; i < 40; i++) {
      const res =
        i % 2
          ? await t.app.inject({
              method: 'POST',
              url: '/api/orders',
              headers: { 'idempotency-key': randomUUID() },
              payload: apiOrder(i),
            })
          : await t.app.inject({
              method: 'POST',
              url: '/orders',
              headers: { 'content-type': 'application/x-www-form-urlencoded', ...html },
              payload: formOrder(i),
            })
      expect([201, 303]).toContain(res.statusCode)
      bodies.push(res.body, JSON.stringify(res.headers))
      numbers.push(
        res.statusCode === 201
          ? res.json().orderNumber
          : String(res.headers.location).split('/').pop(),
      )
    }
    // Placed without the app's routes, so reading them takes the database path, like a miss.
    for (let i = 0; i < 30; i++) {
      const r = await placeOrder(t.app.db, { ...apiOrder(i), idempotencyKey: randomUUID() })
      if (r.kind !== 'placed') throw new Error(r.kind)
      notCached.push(r.order.orderNumber)
    }
  })
  afterAll(() => t?.close())

  it(`answers ${runs(2000)} random well-formed order numbers with 404, on the API and the page`, async () => {
    const known = new Set([...numbers, ...notCached])
    let tried = 0
    for (let i = 0; i < runs(2000); i++) {
      const n = randomNumber()
      if (known.has(n)) continue
      // Also the forms a person might type: lower case, no dash.
      const typed = i % 3 === 0 ? n.toLowerCase() : i % 3 === 1 ? n.replace('-', '') : n
      const api = await t.app.inject(`/api/orders/${typed}`)
      expect(api.statusCode).toBe(404)
      expect(inhumaneMessage(api.json().message)).toBeUndefined()
      if (i % 10 === 0) {
        const page = await t.app.inject({ url: `/orders/${typed}`, headers: html })
        expect(page.statusCode).toBe(404)
        expect(pageMessages(page.body)).toHaveLength(1)
      }
      tried++
    }
    expect(tried).toBeGreaterThan(runs(2000) * 0.99)
  })

  it('takes as long to say 404 to a number one character off a real one as to a random one', async () => {
    // A partial-match oracle (a prefix compared byte by byte, a cache keyed on a prefix) would
    // make near misses slower than far ones. Interleaved samples, compared by median.
    const time = async (url: string) => {
      const started = process.hrtime.bigint()
      const res = await t.app.inject(url)
      return { ms: Number(process.hrtime.bigint() - started) / 1e6, status: res.statusCode }
    }
    const near: number[] = []
    const far: number[] = []
    const hits: number[] = []
    for (let round = 0; round < 300; round++) {
      const real = notCached[round % notCached.length] as string
      const last = real.at(-1) as string
      const off = `${real.slice(0, -1)}${crockford[(crockford.indexOf(last) + 1) % 32]}`
      const a = await time(`/api/orders/${off}`)
      const b = await time(`/api/orders/${randomNumber()}`)
      const c = await time(`/api/orders/${real}`)
      expect([a.status, b.status, c.status]).toEqual([404, 404, 200])
      near.push(a.ms)
      far.push(b.ms)
      hits.push(c.ms)
    }
    const [n, f, h] = [median(near), median(far), median(hits)]
    console.info(
      `median ms: near miss ${n.toFixed(3)}, random miss ${f.toFixed(3)}, hit ${h.toFixed(3)}`,
    )
    // Generous bounds: a 2-core box shared with other suites is noisy.
    expect(n / f).toBeGreaterThan(0.5)
    expect(n / f).toBeLessThan(2)
    // A hit reads lines and renders more; it may cost more, but the same order of magnitude.
    expect(h / f).toBeGreaterThan(0.25)
    expect(h / f).toBeLessThan(4)
  })

  it('never shows an internal id: no id fields in any reply, no id values in any page', async () => {
    const ids = await sql<{ id: string }>`select id::text as id from orders`.execute(t.app.db)
    expect(ids.rows.every((r) => BigInt(r.id) > BigInt(idBase))).toBe(true)

    const urls = [
      '/',
      '/api/products',
      '/api/insights',
      '/api/insights/TX',
      '/api/states/TX/top-products',
      '/insights',
      '/insights/TX',
      '/openapi.json',
      ...numbers.flatMap((n) => [`/api/orders/${n}`, `/orders/${n}`]),
      ...notCached.slice(0, 5).flatMap((n) => [`/api/orders/${n}`, `/orders/${n}`]),
    ]
    const idKey = /^(id|.+_id|.+Id)$/
    const idKeysIn = (value: unknown, path = ''): string[] => {
      if (Array.isArray(value)) return value.flatMap((v, i) => idKeysIn(v, `${path}[${i}]`))
      if (value === null || typeof value !== 'object') return []
      return Object.entries(value).flatMap(([k, v]) => [
        ...(idKey.test(k) && path.indexOf('components') !== 0 ? [`${path}.${k}`] : []),
        ...idKeysIn(v, `${path}.${k}`),
      ])
    }
    for (const url of urls) {
      const res = await t.app.inject({ url, headers: url.startsWith('/api') ? {} : html })
      expect(res.statusCode, url).toBe(200)
      bodies.push(res.body, JSON.stringify(res.headers))
      if (
        String(res.headers['content-type']).startsWith('application/json') &&
        url !== '/openapi.json'
      )
        expect(idKeysIn(res.json()), url).toEqual([])
    }
    for (const body of bodies) expect(body).not.toContain(String(idBase).slice(0, 8))
  })

  it('hands out order numbers that are not sequential', async () => {
    const all = [...numbers, ...notCached].map((n) => n.replace('-', ''))
    expect(new Set(all).size).toBe(all.length)
    // Each of the ten positions takes many values (uniform over 32: ~29 distinct in 70 draws);
    // a counter would keep its leading positions fixed.
    for (let pos = 0; pos < 10; pos++) {
      expect(new Set(all.map((n) => n[pos])).size, `position ${pos}`).toBeGreaterThan(15)
    }
    // In order of placing, a counter always goes up; random numbers go up about half the time.
    const ups = all.slice(1).filter((n, i) => n > (all[i] as string)).length
    expect(ups / (all.length - 1)).toBeGreaterThan(0.2)
    expect(ups / (all.length - 1)).toBeLessThan(0.8)
  })
})

describe('the rate limit on orders (RATE_LIMIT_MAX=5)', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ RATE_LIMIT_MAX: '5' })
  })
  afterAll(() => t?.close())

  const apiFrom = (ip: string, i: number, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/api/orders',
      remoteAddress: ip,
      headers: { 'idempotency-key': randomUUID(), ...headers },
      payload: apiOrder(i),
    })
  const formFrom = (ip: string, i: number) =>
    t.app.inject({
      method: 'POST',
      url: '/orders',
      remoteAddress: ip,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...html },
      payload: formOrder(i),
    })
  const orderCount = async () =>
    Number(
      (await sql<{ n: string }>`select count(*) as n from orders`.execute(t.app.db)).rows[0]?.n,
    )

  it('lets one address place 5 orders a minute, form and API together, then answers 429 plainly', async () => {
    const ip = '203.0.113.7'
    const placed = [
      await apiFrom(ip, 1),
      await formFrom(ip, 2),
      await apiFrom(ip, 3),
      await formFrom(ip, 4),
      await apiFrom(ip, 5),
    ]
    expect(placed.map((r) => r.statusCode)).toEqual([201, 303, 201, 303, 201])

    const api = await apiFrom(ip, 6)
    expect(api.statusCode).toBe(429)
    expect(Number(api.headers['retry-after'])).toBeGreaterThan(0)
    expect(inhumaneMessage(api.json().message)).toBeUndefined()
    const page = await formFrom(ip, 7)
    expect(page.statusCode).toBe(429)
    expect(String(page.headers['content-type'])).toMatch(/^text\/html/)
    const messages = pageMessages(page.body)
    expect(messages).toHaveLength(1)
    expect(inhumaneMessage(messages[0])).toBeUndefined()

    // Forged forwarding headers do not buy a new budget (TRUST_PROXY is off by default).
    for (let i = 0; i < 10; i++) {
      const forged = await apiFrom(ip, 10 + i, {
        'x-forwarded-for': `198.51.100.${i}`,
        'x-real-ip': `198.51.100.${i}`,
      })
      expect(forged.statusCode).toBe(429)
    }
    expect(await orderCount()).toBe(5)
  })

  it('keeps each address its own budget, and leaves reading pages alone', async () => {
    const before = await orderCount()
    const other = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => apiFrom('203.0.113.8', i)))
    expect(other.map((r) => r.statusCode).sort()).toEqual([201, 201, 201, 201, 201, 429])
    expect(await orderCount()).toBe(before + 5)
    for (let i = 0; i < 20; i++) {
      const page = await t.app.inject({ url: '/', remoteAddress: '203.0.113.7', headers: html })
      expect(page.statusCode).toBe(200)
    }
  })
})

describe('security headers and internal errors', () => {
  let app: App
  let drop: () => Promise<void>
  beforeAll(async () => {
    const database = await testDatabase()
    drop = database.drop
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      RATE_LIMIT_MAX: '2',
      ...database.env,
    })
    const built = await buildApp({ config, salesFold: false })
    // Routes that fail the ways code fails, to see what a client is told.
    built.get('/reliability/throws', async () => {
      throw new Error('secret: connect to /srv/app/src/db.ts:12 failed; select * from orders')
    })
    built.get('/reliability/sql', async () => {
      await sql`select secret_column from no_such_table`.execute(built.db)
    })
    built.get('/reliability/type-error', async () => {
      const none = undefined as unknown as { deep: { x: number } }
      return none.deep.x
    })
    await built.ready()
    app = built
  })
  afterAll(async () => {
    await app?.close()
    await drop?.()
  })

  it('answers 500 with a plain sentence and nothing internal, as JSON and as a page', async () => {
    for (const url of ['/reliability/throws', '/reliability/sql', '/reliability/type-error']) {
      for (const headers of [{ accept: 'application/json' }, html, {}] as Record<
        string,
        string
      >[]) {
        const res = await app.inject({ url, headers })
        expect(res.statusCode).toBe(500)
        expect(res.body).not.toMatch(
          /secret|no_such_table|\/srv\/|db\.ts|undefined|reading 'x'|TypeError|relation/,
        )
        // No Accept is a page too: JSON only to a client that ranks it above HTML.
        const message =
          headers.accept === 'application/json' ? res.json().message : pageMessages(res.body)[0]
        expect(inhumaneMessage(message)).toBeUndefined()
        expect(missingSecurityHeaders(res.headers), `${url} ${res.statusCode}`).toEqual([])
      }
    }
  })

  it('sets the security headers on every kind of reply, and keeps files outside public/ private', async () => {
    const number = (
      await app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': randomUUID() },
        payload: apiOrder(1),
      })
    ).json().orderNumber
    const requests: {
      url: string
      method?: 'GET' | 'POST' | 'PUT' | 'DELETE'
      headers?: Record<string, string>
      payload?: string
      status: number
    }[] = [
      { url: '/', headers: html, status: 200 },
      { url: `/orders/${number}`, headers: html, status: 200 },
      { url: `/api/orders/${number}`, status: 200 },
      { url: '/api/products', status: 200 },
      { url: '/insights', headers: html, status: 200 },
      { url: '/public/css/site.css', status: 200 },
      { url: '/openapi.json', status: 200 },
      { url: '/healthz', status: 200 },
      { url: '/readyz', status: 200 },
      {
        url: '/orders',
        method: 'POST',
        headers: { ...html, 'content-type': 'application/x-www-form-urlencoded' },
        payload: formOrder(1),
        status: 303,
      },
      {
        url: '/orders',
        method: 'POST',
        headers: { ...html, 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'qty-nope=1',
        status: 400,
      },
      {
        url: '/api/orders',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'k' },
        payload: '{',
        status: 400,
      },
      {
        url: '/api/orders',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'k' },
        payload: 'x'.repeat(70_000),
        status: 413,
      },
      {
        url: '/api/orders',
        method: 'POST',
        headers: { 'content-type': 'application/xml', 'idempotency-key': 'k' },
        payload: '<a/>',
        status: 415,
      },
      {
        url: '/api/orders',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'k' },
        payload: JSON.stringify(apiOrder(1)),
        status: 429,
      },
      { url: '/api/orders/00000-00000', status: 404 },
      { url: '/orders/00000-00000', headers: html, status: 404 },
      { url: '/no/such/page', headers: html, status: 404 },
      { url: '/api/orders', method: 'PUT', status: 405 },
      { url: '/reliability/throws', status: 500 },
    ]
    // Each request from its own address, but the 429 from one that spent its budget (2).
    const spent = '192.0.2.1'
    for (let i = 0; i < 2; i++) {
      await app.inject({
        method: 'POST',
        url: '/api/orders',
        remoteAddress: spent,
        headers: { 'idempotency-key': randomUUID() },
        payload: apiOrder(i),
      })
    }
    for (const [i, r] of requests.entries()) {
      const remoteAddress = r.status === 429 ? spent : `198.18.0.${i + 1}`
      const res = await app.inject({
        method: r.method ?? 'GET',
        url: r.url,
        headers: r.headers,
        payload: r.payload,
        remoteAddress,
      })
      expect(res.statusCode, r.url).toBe(r.status)
      expect(
        missingSecurityHeaders(res.headers),
        `${r.method ?? 'GET'} ${r.url} ${res.statusCode}`,
      ).toEqual([])
    }

    for (const url of [
      '/public/../src/app.ts',
      '/public/%2e%2e/src/app.ts',
      '/public/..%2f..%2fpackage.json',
      '/public/%2e%2e%2f%2e%2e%2fpackage.json',
      '/public/..\\..\\package.json',
      '/public/css/../../migrations/0001_initial.ts',
      '/public/.env',
    ]) {
      const res = await app.inject(url)
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400)
      expect(res.statusCode, url).toBeLessThan(500)
      expect(res.body).not.toMatch(/buildApp|"dependencies"|createTable|import /)
      expect(missingSecurityHeaders(res.headers), url).toEqual([])
    }
  })

  it('keeps a shopper-typed order page out of shared caches', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/orders',
      remoteAddress: '192.0.2.99',
      headers: { 'idempotency-key': randomUUID() },
      payload: { ...apiOrder(2), customer: orderCustomer(2) },
    })
    expect(res.statusCode).toBe(201)
    const page = await app.inject({ url: `/orders/${res.json().orderNumber}`, headers: html })
    expect(page.headers['cache-control']).toMatch(/no-store/)
  })
})
