import { randomUUID } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lookupMisses } from '../../src/orders/lookup-misses.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'

/** A well-formed number no order has (order numbers are random: these are not). */
const madeUp = (i: number) => `00000-${String(i).padStart(5, '0')}`

// Lookups that find nothing are what guessing order numbers is: LOOKUP_MISS_MAX of them a
// minute per client address, then 429 before the database. A shopper's own lookups hit and are
// never counted. TRUST_PROXY=true: X-Forwarded-For names the client, one per test.
let t: TestApp
let orderNumber: string
beforeAll(async () => {
  t = await buildTestApp({ LOOKUP_MISS_MAX: '3', TRUST_PROXY: 'true' })
  orderNumber = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
})
afterAll(() => t?.close())

const lookup = (client: string, url: string, accept = 'application/json') =>
  t.app.inject({ url, headers: { 'x-forwarded-for': client, accept } })

describe('order lookups that find nothing (LOOKUP_MISS_MAX=3)', () => {
  it('answers 3 misses 404, then 429 with Retry-After on the API and the page, any number', async () => {
    const client = '192.0.2.1'
    for (let i = 0; i < 3; i++) {
      const res = await lookup(client, `/api/orders/${madeUp(i)}`)
      expect(res.statusCode, `miss ${i + 1}`).toBe(404)
    }
    const api = await lookup(client, `/api/orders/${madeUp(3)}`)
    expect(api.statusCode).toBe(429)
    expect(api.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(Number(api.headers['retry-after'])).toBeGreaterThanOrEqual(59)
    expect(api.json()).toMatchObject({
      status: 429,
      detail: expect.stringMatching(
        /^Too many unknown order numbers from your address: at most 3 a minute\. Please try again in \d+ seconds\.$/,
      ),
    })
    const page = await lookup(client, `/orders/${madeUp(4)}`, 'text/html')
    expect(page.statusCode).toBe(429)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.headers['retry-after']).toBeDefined()
    expect(page.body).toContain('Too many unknown order numbers from your address')
    expect(page.body).toContain('href="/public/css/site.css"')
    // Refused before the database: a real number is refused too, until the minute ends.
    expect((await lookup(client, `/api/orders/${orderNumber}`)).statusCode).toBe(429)
    // Another address keeps its own budget.
    expect((await lookup('192.0.2.2', `/orders/${madeUp(5)}`, 'text/html')).statusCode).toBe(404)
  })

  it('shows a client past the limit the order its own form just placed (the order_key cookie), and nothing else', async () => {
    const client = '192.0.2.4'
    for (let i = 0; i < 3; i++) await lookup(client, `/orders/${madeUp(i)}`, 'text/html')
    const key = randomUUID().toUpperCase()
    const placed = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: {
        'x-forwarded-for': client,
        accept: 'text/html',
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: `qty-MUG-001=1&name=A&email=a%40b.co&address=1+A&city=Austin&state=TX&zip=78701&idempotencyKey=${key}`,
    })
    expect(placed.statusCode).toBe(303)
    const location = placed.headers.location as string
    const setCookie = String(placed.headers['set-cookie'])
    expect(setCookie).toBe(
      `order_key=${key.toLowerCase()}; Path=/orders; Max-Age=86400; HttpOnly; SameSite=Lax`,
    )
    const withCookie = (url: string, cookie: string) =>
      t.app.inject({
        url,
        headers: { 'x-forwarded-for': client, accept: 'text/html', cookie: `a=b; ${cookie}` },
      })
    const own = await withCookie(location, `order_key=${key.toLowerCase()}`)
    expect(own.statusCode).toBe(200)
    expect(own.body).toContain(location.slice('/orders/'.length))
    // As typed loosely: found, then sent to its one address.
    const loose = await withCookie(location.replace('-', '').toLowerCase(), `order_key=${key}`)
    expect(loose.statusCode).toBe(301)
    // Without the cookie, with another order's number, or with a key that made no order: 429.
    expect((await lookup(client, location, 'text/html')).statusCode).toBe(429)
    const other = await withCookie(`/orders/${orderNumber}`, `order_key=${key}`)
    expect(other.statusCode).toBe(429)
    expect((await withCookie(location, `order_key=${randomUUID()}`)).statusCode).toBe(429)
    expect((await withCookie(location, 'order_key=not-a-key')).statusCode).toBe(429)
    expect((await withCookie(`/orders/${madeUp(9)}`, `order_key=${key}`)).statusCode).toBe(429)
  })

  it('never counts a lookup that finds the order: 2 misses, 50 hits, 1 miss are all answered', async () => {
    const client = '192.0.2.3'
    for (let i = 0; i < 2; i++) {
      expect((await lookup(client, `/orders/${madeUp(i)}`)).statusCode).toBe(404)
    }
    for (let i = 0; i < 50; i++) {
      const url = i % 2 ? `/api/orders/${orderNumber}` : `/orders/${orderNumber}`
      expect((await lookup(client, url, 'text/html')).statusCode).toBe(200)
    }
    expect((await lookup(client, `/api/orders/${madeUp(2)}`)).statusCode).toBe(404)
    expect((await lookup(client, `/api/orders/${madeUp(3)}`)).statusCode).toBe(429)
  })

  it('counts an IPv6 client by its /64', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await lookup(`2001:db8:5:6::${i + 1}`, `/api/orders/${madeUp(i)}`)
      expect(res.statusCode).toBe(404)
    }
    expect((await lookup('2001:db8:5:6:ffff::9', `/api/orders/${madeUp(3)}`)).statusCode).toBe(429)
    expect((await lookup('2001:db8:5:7::1', `/api/orders/${madeUp(3)}`)).statusCode).toBe(404)
  })

  it('is off with RATE_LIMIT_MAX=0 (load tests, the bench): 40 misses, 40 404s', async () => {
    const off = await buildTestApp({ RATE_LIMIT_MAX: '0' })
    try {
      for (let i = 0; i < 40; i++) {
        const res = await off.app.inject(`/api/orders/${madeUp(i)}`)
        expect(res.statusCode).toBe(404)
      }
    } finally {
      await off.close()
    }
  })
})

describe('lookupMisses', () => {
  /** A request whose address is read through a getter that counts the reads. */
  const client = (ip: string) => {
    const reads = { count: 0 }
    const request = {
      get ip() {
        reads.count++
        return ip
      },
    } as unknown as FastifyRequest
    return { request, reads }
  }
  const reply = {} as FastifyReply

  it('reads nothing of a request while no one has missed: the hit path is one size check', () => {
    const misses = lookupMisses(3)
    const { request, reads } = client('192.0.2.10')
    for (let i = 0; i < 1000; i++) expect(misses.refuse(request, reply)).toBeUndefined()
    expect(reads.count).toBe(0)
    expect(misses.size).toBe(0)
  })

  it('forgets a window once it ends, and holds at most 10,000 addresses', () => {
    let now = 1_000_000
    const misses = lookupMisses(1, 60_000, () => now)
    for (let i = 0; i < 10_050; i++) misses.miss(client(`10.0.${i >> 8}.${i & 255}`).request)
    expect(misses.size).toBe(10_000)
    now += 60_000
    expect(misses.refuse(client('10.0.0.1').request, reply)).toBeUndefined()
    expect(misses.size).toBe(0)
  })
})
