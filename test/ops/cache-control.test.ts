import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { staticCacheControl } from '../../src/plugins/views.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, addToken, signIn } from '../helpers/staff.ts'

/** Cache-Control per kind of route: personal data and idempotency keys are never stored. */
let t: TestApp
let orderNumber: string
let token: string
let cookie: string
beforeAll(async () => {
  t = await buildTestApp()
  orderNumber = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
  const id = await addStaff(t.app, 'cache-admin@example.com', 'admin')
  token = await addToken(t.app, id)
  cookie = (await signIn(t.app, 'cache-admin@example.com')).cookie
})
afterAll(() => t?.close())

const html = { accept: 'text/html' }
const formHeaders = { ...html, 'content-type': 'application/x-www-form-urlencoded' }
const formBody = (fields: Record<string, string>) =>
  new URLSearchParams({ 'qty-MUG-001': '1', ...customer, ...fields }).toString()

describe('no-store on pages with an idempotency key and answers with personal data', () => {
  it.each([
    ['the order form', { url: '/', headers: html }, 200],
    ['a confirmation page', () => ({ url: `/orders/${orderNumber}`, headers: html }), 200],
    ['an unknown order page', { url: '/orders/ZZZZ-ZZZZ', headers: html }, 404],
    ['an order by the API', () => ({ url: `/api/orders/${orderNumber}` }), 200],
    ['an unknown order by the API', { url: '/api/orders/ZZZZ-ZZZZ' }, 404],
  ])('%s', async (_name, request, status) => {
    const res = await t.app.inject(typeof request === 'function' ? request() : request)
    expect(res.statusCode).toBe(status)
    expect(res.headers['cache-control']).toBe('no-store')
  })

  // The form shown again is the browser's alone, and shown from its cache on Back (a no-store
  // answer to a POST made Chromium ask to post it again): cache-control.ts, keptForHistory.
  it('the form posted: placed (303) no-store; shown again, refused (400) or out of stock (409), private', async () => {
    const placed = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: formHeaders,
      payload: formBody({ idempotencyKey: randomUUID() }),
    })
    expect(placed.statusCode).toBe(303)
    expect(placed.headers['cache-control']).toBe('no-store')

    const refused = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: formHeaders,
      payload: formBody({ idempotencyKey: randomUUID(), email: 'not an address' }),
    })
    expect(refused.statusCode).toBe(400)
    expect(refused.body).toContain('name="idempotencyKey"')
    expect(refused.headers['cache-control']).toBe('private, no-cache')

    const short = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: formHeaders,
      payload: formBody({ idempotencyKey: randomUUID(), 'qty-MUG-001': '999999' }),
    })
    expect([400, 409]).toContain(short.statusCode)
    expect(short.body).toContain('name="idempotencyKey"')
    expect(short.headers['cache-control']).toBe('private, no-cache')

    // The form's other answers that are not the form: a cross-site post (403), a GET (303).
    const crossSite = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: {
        ...formHeaders,
        origin: 'https://elsewhere.example',
        'sec-fetch-site': 'cross-site',
      },
      payload: formBody({ idempotencyKey: randomUUID() }),
    })
    expect(crossSite.statusCode).toBe(403)
    expect(crossSite.headers['cache-control']).toBe('no-store')
    expect((await t.app.inject({ url: '/orders', headers: html })).headers['cache-control']).toBe(
      'no-store',
    )
  })

  it('POST /api/orders, placed and refused by its schema', async () => {
    const placed = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer },
    })
    expect(placed.statusCode).toBe(201)
    expect(placed.headers['cache-control']).toBe('no-store')
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: { items: [], customer: { ...customer, email: 'x' } },
    })
    expect(refused.statusCode).toBe(400)
    expect(refused.headers['cache-control']).toBe('no-store')
  })

  it('every /admin and /api/admin route, signed in and not', async () => {
    const routes = t.app.adminRoutes
    expect(routes.length).toBeGreaterThan(20)
    const seen: string[] = []
    for (const route of routes) {
      for (const method of route.methods.filter((m) => m !== 'HEAD')) {
        const url = route.url.replaceAll(/:[A-Za-z]+/g, orderNumber)
        const api = url.startsWith('/api/')
        const signedIn = api ? { authorization: `Bearer ${token}` } : { cookie, ...html }
        for (const headers of [signedIn, api ? {} : html]) {
          const res = await t.app.inject({ method: method as 'GET', url, headers })
          seen.push(`${method} ${url} ${res.statusCode}`)
          expect(res.headers['cache-control'], `${method} ${url} (${res.statusCode})`).toBe(
            'no-store',
          )
        }
      }
    }
    // Not only refusals: signed in, the reads answer.
    expect(seen).toContain('GET /admin/orders.csv 200')
    expect(seen).toContain(`GET /api/admin/orders/${orderNumber} 200`)
    expect(seen).toContain('GET /admin 200')
  })

  it('a public, shopper-free answer keeps its own caching', async () => {
    const res = await t.app.inject({ url: '/api/products' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).not.toBe('no-store')
  })
})

describe('static files', () => {
  it('are cached for an hour with validators, and revalidate to a 304', async () => {
    const res = await t.app.inject({ url: '/public/css/site.css' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe(staticCacheControl)
    expect(staticCacheControl).toBe('public, max-age=3600, must-revalidate')
    expect(res.headers.etag).toMatch(/^(W\/)?"/)
    expect(res.headers['last-modified']).toBeTruthy()
    const again = await t.app.inject({
      url: '/public/css/site.css',
      headers: { 'if-none-match': String(res.headers.etag) },
    })
    expect(again.statusCode).toBe(304)
    const image = await t.app.inject({ url: '/public/images/bag-004.svg' })
    expect(image.headers['cache-control']).toBe(staticCacheControl)
  })
})
