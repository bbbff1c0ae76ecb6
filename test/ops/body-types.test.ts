import { randomUUID } from 'node:crypto'
import type { HTTPMethods } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, rowCount, type TestApp } from '../helpers/context.ts'
import { concrete, registeredRoutes } from '../helpers/routes.ts'
import { addStaff, addToken, signIn } from '../helpers/staff.ts'

// docs/api.md, "Bodies": a body that is neither JSON nor a form is 415, on every route that
// reads one (a form only, outside /api; JSON only, under /api); an empty body is no body,
// whatever its declared type.
let t: TestApp
let auth: Record<string, string>
beforeAll(async () => {
  t = await buildTestApp({ WEBHOOKS_ALLOW_LOCAL: 'true' }, { webhookDispatcher: false })
  const id = await addStaff(t.app, 'bodies@example.com', 'admin')
  const { cookie } = await signIn(t.app, 'bodies@example.com')
  auth = { cookie, authorization: `Bearer ${await addToken(t.app, id)}` }
})
afterAll(() => t?.close())

const withBody = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

describe('a body of a type the service does not read', () => {
  it('is 415 on every route that takes a body, signed in or not, text/plain included', async () => {
    const routes = registeredRoutes(t.app).filter((r) => withBody.has(r.method))
    expect(routes.map((r) => `${r.method} ${r.url}`)).toContain('POST /api/orders')
    for (const type of ['text/plain', 'text/plain; charset=utf-8', 'application/xml', 'text/csv']) {
      for (const { method, url } of routes) {
        const res = await t.app.inject({
          method,
          url: concrete(url),
          headers: { ...auth, 'idempotency-key': randomUUID(), 'content-type': type },
          payload: 'hello',
        })
        expect(res.statusCode, `${method} ${url} as ${type}: ${res.body}`).toBe(415)
      }
    }
  })

  it('says what to send instead', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID(), 'content-type': 'text/plain' },
      payload: 'hello',
    })
    expect(res.statusCode).toBe(415)
    expect(res.json().message).toBe(
      'A body of type text/plain cannot be read here: send JSON (application/json).',
    )
  })

  it('on a path that does not exist is still 404', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/nowhere',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    })
    expect(res.statusCode).toBe(404)
  })
})

describe('an empty body', () => {
  const empty = [
    ['no type', {}],
    ['JSON', { 'content-type': 'application/json' }],
    ['JSON; charset=utf-8', { 'content-type': 'application/json; charset=utf-8' }],
    ['text/plain', { 'content-type': 'text/plain' }],
    ['application/xml', { 'content-type': 'application/xml' }],
    ['a form', { 'content-type': 'application/x-www-form-urlencoded' }],
  ] as const

  it('is no body on a route that takes none, whatever its type', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/admin/webhooks',
      headers: auth,
      payload: { url: 'http://127.0.0.1:9/in', eventTypes: ['order.placed'] },
    })
    expect(created.statusCode, created.body).toBe(201)
    const webhook = created.json().id
    const staffId = await addStaff(t.app, 'empty-bodies@example.com', 'staff')
    const calls: [HTTPMethods, string, number][] = [
      ['POST', `/api/admin/webhooks/${webhook}/rotate-secret`, 200],
      ['POST', `/api/admin/webhooks/${webhook}/deliveries/99999/redeliver`, 404],
      ['POST', `/api/admin/staff/${staffId}/tokens`, 201],
      ['DELETE', '/api/admin/webhooks/99999', 404],
    ]
    for (const [method, url, status] of calls) {
      for (const [what, headers] of empty) {
        const res = await t.app.inject({ method, url, headers: { ...auth, ...headers } })
        expect(res.statusCode, `${method} ${url}, empty ${what}: ${res.body}`).toBe(status)
      }
    }
    const gone = await t.app.inject({
      method: 'DELETE',
      url: `/api/admin/webhooks/${webhook}`,
      headers: { ...auth, 'content-type': 'application/json' },
    })
    expect(gone.statusCode).toBe(204)
  })

  it('is 400 on a route that needs one, with one sentence whatever its type', async () => {
    const calls: [HTTPMethods, string][] = [
      ['POST', '/api/orders'],
      ['POST', '/api/admin/webhooks'],
      ['PATCH', '/api/admin/staff/1'],
      ['POST', '/api/admin/products/MUG-001/restock'],
    ]
    for (const [method, url] of calls) {
      for (const [what, headers] of empty) {
        const res = await t.app.inject({
          method,
          url,
          headers: { ...auth, 'idempotency-key': randomUUID(), ...headers },
        })
        expect(res.statusCode, `${method} ${url}, empty ${what}`).toBe(400)
        expect(res.json().message, `${method} ${url}, empty ${what}`).toBe(
          'The body is empty; this request needs one.',
        )
      }
    }
  })
})

// A body of JSON's whitespace only was "not valid JSON" where an empty one says it is empty (a
// review): it holds no value either, so it is answered as an empty body, on every route.
describe('a JSON body of whitespace only, as an empty one', () => {
  const blanks = [' ', '\n', '\r\n', ' \t\r\n  ', '\uFEFF ']
  it('is 400 "empty" in problem details on a route that needs a body', async () => {
    for (const payload of blanks) {
      for (const type of ['application/json', 'application/json; charset=utf-8']) {
        const before = await rowCount(t.app, 'orders')
        const key = randomUUID()
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/orders',
          headers: { 'idempotency-key': key, 'content-type': type },
          payload,
        })
        const what = `${JSON.stringify(payload)} as ${type}`
        expect(res.statusCode, what).toBe(400)
        expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/)
        expect(res.json(), what).toMatchObject({
          status: 400,
          title: 'Bad Request',
          detail: 'The body is empty; this request needs one.',
        })
        expect(await rowCount(t.app, 'orders'), what).toBe(before)
      }
    }
  })

  it("is answered as an empty JSON body on every page's route, which takes forms only", async () => {
    const routes = registeredRoutes(t.app).filter(
      (r) => withBody.has(r.method) && !r.url.startsWith('/api/'),
    )
    expect(routes.map((r) => `${r.method} ${r.url}`)).toContain('POST /orders')
    for (const { method, url } of routes) {
      const send = (payload: string) =>
        t.app.inject({
          method,
          url: concrete(url),
          headers: { cookie: auth.cookie, accept: 'text/html', 'content-type': 'application/json' },
          payload,
        })
      const empty = await send('')
      for (const payload of blanks) {
        const res = await send(payload)
        const what = `${method} ${url} with ${JSON.stringify(payload)}: ${res.body.slice(0, 200)}`
        expect(res.statusCode, what).not.toBe(415)
        expect(res.statusCode, what).toBe(empty.statusCode)
        expect(res.headers['content-type'], what).toBe(empty.headers['content-type'])
      }
    }
  })

  it('is no body on a route that takes none', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/admin/webhooks',
      headers: auth,
      payload: { url: 'http://127.0.0.1:9/in', eventTypes: ['order.placed'] },
    })
    const webhook = created.json().id
    for (const payload of blanks) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/admin/webhooks/${webhook}/rotate-secret`,
        headers: { ...auth, 'content-type': 'application/json' },
        payload,
      })
      expect(res.statusCode, JSON.stringify(payload)).toBe(200)
    }
  })
})

// The JSON API reads JSON only: no page posts to /api (the order form posts to /orders, the
// back office's forms to /admin/…), and a form's values are flat strings where the schemas want
// numbers, booleans, lists and objects (an order's `items`), so no form could ever be valid.
describe('a form sent to the API', () => {
  const restockUrl = '/api/admin/products/MUG-001/restock'
  /** A restock of MUG-001 with a body of `type` (none when `payload` is undefined). */
  const restock = (type: string, payload?: string) =>
    t.app.inject({
      method: 'POST',
      url: restockUrl,
      headers: { ...auth, 'content-type': type },
      ...(payload === undefined ? {} : { payload }),
    })

  it('is 415 naming application/json on every /api route that takes a body', async () => {
    const routes = registeredRoutes(t.app).filter(
      (r) => withBody.has(r.method) && r.url.startsWith('/api/'),
    )
    expect(routes.map((r) => `${r.method} ${r.url}`)).toEqual(
      expect.arrayContaining(['POST /api/admin/products/:sku/restock', 'POST /api/orders']),
    )
    for (const { method, url } of routes) {
      const res = await t.app.inject({
        method,
        url: concrete(url),
        headers: {
          ...auth,
          'idempotency-key': randomUUID(),
          'content-type': 'application/x-www-form-urlencoded',
        },
        payload: 'units=5',
      })
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(415)
      expect(res.json().message).toBe(
        'A body of type application/x-www-form-urlencoded cannot be read here: send JSON (application/json).',
      )
    }
  })

  it('leaves the stock alone on a restock, which takes {"units": 5} as JSON', async () => {
    const stockOf = async () =>
      (await t.app.inject({ url: '/api/admin/products', headers: auth }))
        .json()
        .find((p: { sku: string }) => p.sku === 'MUG-001').stock
    const before = await stockOf()
    const formed = await restock('application/x-www-form-urlencoded; charset=utf-8', 'units=5')
    expect(formed.statusCode).toBe(415)
    expect(await stockOf()).toBe(before)
    const json = await restock('application/json', JSON.stringify({ units: 5 }))
    expect(json.statusCode).toBe(200)
    expect(await stockOf()).toBe(before + 5)
  })

  it('other types are refused naming JSON alone there, and an empty form is no body', async () => {
    const res = await restock('text/plain', 'units=5')
    expect(res.statusCode).toBe(415)
    expect(res.json().message).toBe(
      'A body of type text/plain cannot be read here: send JSON (application/json).',
    )
    const empty = await restock('application/x-www-form-urlencoded')
    expect(empty.statusCode).toBe(400)
    expect(empty.json().message).toBe('The body is empty; this request needs one.')
  })

  it('places no order from a form on POST /api/orders, however it spells the lines', async () => {
    const before = await rowCount(t.app, 'orders')
    for (const payload of [
      'items[0][sku]=MUG-001&items[0][quantity]=1&customer[name]=Ann',
      'qty-MUG-001=1&name=Ann&email=ann@example.com',
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: {
          'idempotency-key': randomUUID(),
          'content-type': 'application/x-www-form-urlencoded',
        },
        payload,
      })
      expect(res.statusCode, res.body).toBe(415)
      expect(res.json().message).toBe(
        'A body of type application/x-www-form-urlencoded cannot be read here: send JSON (application/json).',
      )
    }
    expect(await rowCount(t.app, 'orders')).toBe(before)
  })
})
