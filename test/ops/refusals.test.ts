import { randomUUID } from 'node:crypto'
import type { HTTPMethods } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { form, signedInAdmin } from '../helpers/staff.ts'

// docs/api.md, "Problem details" and "Bodies"; docs/back-office.md, the ids of the back office and
// e-mail addresses.
let t: TestApp
let token: string
let session: { cookie: string; csrf: string }
beforeAll(async () => {
  t = await buildTestApp({ WEBHOOKS_ALLOW_LOCAL: 'true' }, { webhookDispatcher: false })
  ;({ token, session } = await signedInAdmin(t.app, 'refusals@example.com'))
})
afterAll(() => t?.close())

const api = (method: HTTPMethods, url: string, payload?: unknown, headers = {}) =>
  t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, 'idempotency-key': randomUUID(), ...headers },
    ...(payload === undefined ? {} : { payload: payload as string }),
  })

describe('a value the service refuses by its own checks', () => {
  it('is a validation problem whose errors point at it', async () => {
    const cases: [Promise<{ json: () => Record<string, unknown> }>, object][] = [
      [
        api('POST', '/api/admin/webhooks', {
          url: 'ftp://example.com/',
          eventTypes: ['order.placed'],
        }),
        { pointer: '/url' },
      ],
      [api('GET', '/api/admin/orders?status=bogus'), { parameter: 'status' }],
      [api('GET', '/api/admin/orders?from=2026-02-30'), { parameter: 'from' }],
      [api('GET', '/api/admin/orders?q=hello'), { parameter: 'q' }],
      [api('GET', '/api/admin/orders?cursor=abc'), { parameter: 'cursor' }],
      [api('PATCH', '/api/admin/products/LMP-006', {}), { pointer: '' }],
    ]
    for (const [answer, at] of cases) {
      const body = (await answer).json()
      expect(body.type).toBe('tag:order-service.example,2026:problems/validation')
      expect(body.errors).toEqual([{ ...at, detail: body.detail }])
    }
  })
})

describe('an id', () => {
  it('past its column is 404 like any id with no row; not a number is 400', async () => {
    const created = await api('POST', '/api/admin/webhooks', {
      url: 'http://127.0.0.1:9/in',
      eventTypes: ['order.placed'],
    })
    const hook = created.json().id
    for (const id of ['2147483648', '9223372036854775808', '99999999999999999999']) {
      for (const [method, url] of [
        ['GET', `/api/admin/staff/${id}`],
        ['DELETE', `/api/admin/staff/1/tokens/${id}`],
        ['GET', `/api/admin/webhooks/${id}`],
        ['POST', `/api/admin/webhooks/${hook}/deliveries/${id}/redeliver`],
      ] as const) {
        const res = await api(method, url)
        expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(404)
      }
    }
    for (const url of [
      '/api/admin/staff/x1',
      '/api/admin/webhooks/-1',
      '/api/admin/webhooks/1.5',
    ]) {
      expect((await api('GET', url)).statusCode, url).toBe(400)
    }
  })
})

describe('a body', () => {
  it('of JSON on a form route is 415 naming the form type, and places nothing', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      payload: { 'qty-MUG-001': '1', ...customer, idempotencyKey: randomUUID() },
    })
    expect(res.statusCode).toBe(415)
    expect(res.json().message).toBe(
      'A body of type application/json cannot be read here: send a form (application/x-www-form-urlencoded).',
    )
    const hook = await t.app.inject({
      method: 'POST',
      url: '/admin/webhooks',
      headers: { cookie: session.cookie, 'content-type': 'application/json' },
      payload: {
        _csrf: session.csrf,
        url: 'https://hooks.example.com/form',
        eventTypes: 'order.placed',
      },
    })
    expect(hook.statusCode).toBe(415)
    const list = (await api('GET', '/api/admin/webhooks')).json() as { url: string }[]
    expect(list.map((e) => e.url)).not.toContain('https://hooks.example.com/form')
  })

  it('naming a field twice in one object is 400, and nothing is placed', async () => {
    const before = (await api('GET', '/api/admin/orders')).json().orders.length
    const items = JSON.stringify([{ sku: 'MUG-001', quantity: 1 }])
    const payload = `{"items":${items},"items":[{"sku":"MUG-001","quantity":2}],"customer":${JSON.stringify(customer)}}`
    const res = await api('POST', '/api/orders', payload, { 'content-type': 'application/json' })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toBe(
      'The body gives "items" twice in one object; send each name once.',
    )
    // Deeper, and spelled with an escape: still the same name.
    const deep = `{"items":[{"sku":"MUG-001","quantity":1,"s\\u006bu":"MUG-002"}],"customer":${JSON.stringify(customer)}}`
    const again = await api('POST', '/api/orders', deep, { 'content-type': 'application/json' })
    expect(again.json().message).toContain('"sku" twice')
    expect((await api('GET', '/api/admin/orders')).json().orders.length).toBe(before)
    // The same name in two objects, or inside a string, is no duplicate.
    const fine = `{"items":[{"sku":"MUG-001","quantity":1},{"sku":"TEE-002","quantity":1}],"customer":${JSON.stringify({ ...customer, name: 'a \\"name\\": b' })}}`
    expect(
      (await api('POST', '/api/orders', fine, { 'content-type': 'application/json' })).statusCode,
    ).toBe(201)
  })

  it('sent to an API route that reads none is 400; none, empty or {} goes on', async () => {
    const created = await api('POST', '/api/admin/webhooks', {
      url: 'http://127.0.0.1:9/rotate',
      eventTypes: ['order.placed'],
    })
    const hook = created.json().id
    for (const url of [
      `/api/admin/webhooks/${hook}/rotate-secret`,
      `/api/admin/webhooks/${hook}/deliveries/1/redeliver`,
    ]) {
      // JSON's null is a body with something in it, as [] and 1 are.
      for (const body of ['{"x":1}', 'null', '[]', '1']) {
        const res = await api('POST', url, body, { 'content-type': 'application/json' })
        expect(res.statusCode, `${url} ${body}`).toBe(400)
        expect(res.json().message).toBe(
          'This request takes no body: send it without one (an empty body or {} is fine).',
        )
      }
      expect((await api('POST', url, {})).statusCode).not.toBe(400)
    }
  })
})

describe('an e-mail address', () => {
  const order = (email: string) =>
    api('POST', '/api/orders', {
      items: [{ sku: 'MUG-001', quantity: 1 }],
      customer: { ...customer, email },
    })
  // The order's API, a staff account's API and the order form each refuse `email` saying why.
  async function refusedEverywhere(email: string, detail: string, staff: string, page: string) {
    const placed = await order(email)
    expect(placed.statusCode).toBe(400)
    expect(placed.json().message).toBe(`customer.email ${detail}`)
    const added = await api('POST', '/api/admin/staff', {
      email,
      role: 'staff',
      password: 'a long enough password',
    })
    expect(added.statusCode).toBe(400)
    expect(added.json().message).toBe(staff)
    const typed = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ 'qty-MUG-001': '1', ...customer, email, idempotencyKey: randomUUID() }),
    })
    expect(typed.statusCode).toBe(400)
    expect(typed.body).toContain(page)
  }

  it('with more than 64 characters before the @ is refused, on the order and staff alike', async () => {
    await refusedEverywhere(
      `${'a'.repeat(65)}@example.com`,
      'may have at most 64 characters before the @',
      'Enter an e-mail address with at most 64 characters before the @.',
      'at most 64 characters before the @',
    )
    expect((await order(`${'a'.repeat(64)}@example.com`)).statusCode).toBe(201)
  })

  // RFC 1035 §2.3.4: a label, the text between two dots of the domain, is at most 63 octets; no
  // mail reaches an address whose domain has a longer one.
  it('whose domain has a label over 63 characters is refused, on the order and staff alike', async () => {
    await refusedEverywhere(
      `ada@${'b'.repeat(64)}.com`,
      'must have at most 63 characters between the dots of its domain: one part of it has 64',
      'Enter an e-mail address whose domain has at most 63 characters between dots: one part of it has 64.',
      'at most 63 characters between dots',
    )
    expect((await order(`ada@${'b'.repeat(63)}.${'c'.repeat(63)}.com`)).statusCode).toBe(201)
  })
})
