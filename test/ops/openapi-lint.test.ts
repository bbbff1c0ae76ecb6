import { randomUUID } from 'node:crypto'
import { createConfig, lintFromString } from '@redocly/openapi-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { usesStaffToken } from '../../src/plugins/openapi.ts'
import { webhookId } from '../../src/webhooks/deliver.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

/** /openapi.json passes Redocly's recommended rules and documents what the routes really send. */
let t: TestApp
let doc: Record<string, unknown>
let token: string
beforeAll(async () => {
  t = await buildTestApp({ MAX_EVENT_LOOP_DELAY_MS: '0' })
  doc = (await t.app.inject({ url: '/openapi.json' })).json()
  token = await addToken(t.app, await addStaff(t.app, 'openapi@example.com', 'admin'))
})
afterAll(() => t?.close())

type Json = Record<string, unknown>
const operation = (path: string, method: string) =>
  ((doc.paths as Json)[path] as Json)[method] as {
    operationId?: string
    responses: Record<string, { headers?: Json; content?: Json }>
  }

const counted = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']
type Answer = Awaited<ReturnType<TestApp['app']['inject']>>
/** The headers a response declares, each `$ref` to components/headers read through. */
const declared = (response: { headers?: Json } | undefined) => {
  const components = (doc.components as { headers?: Record<string, Json> }).headers ?? {}
  return Object.fromEntries(
    Object.entries(response?.headers ?? {}).map(([name, header]) => {
      const ref = (header as { $ref?: string }).$ref
      return [name, ref ? components[ref.replace('#/components/headers/', '')] : header]
    }),
  ) as Record<string, { description?: string; schema?: Json } | undefined>
}
/** `res` carries the rate-limit headers, and the document declares each at its status. */
const expectDeclared = (op: ReturnType<typeof operation>, res: Answer, where: string) => {
  const headers = declared(op.responses[`${res.statusCode}`])
  const sent = res.statusCode === 429 ? [...counted, 'Retry-After'] : counted
  for (const name of sent) {
    expect(res.headers[name.toLowerCase()], `${where} ${res.statusCode} sends ${name}`).toMatch(
      /^\d+$/,
    )
    expect(headers[name]?.description, `${where} ${res.statusCode} declares ${name}`).toEqual(
      expect.any(String),
    )
    expect(headers[name]?.schema).toMatchObject({ type: 'integer' })
  }
}

describe('the OpenAPI document', () => {
  it("is clean under Redocly's recommended rules: no error, no warning", async () => {
    const config = await createConfig({ extends: ['recommended'] })
    const problems = await lintFromString({
      source: JSON.stringify(doc),
      absoluteRef: 'openapi.json',
      config,
    })
    const found = problems.map(
      (p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`,
    )
    expect(found).toEqual([])
  })

  it("gives POST /api/orders an example key and body that place an order: what /docs' Try it out sends", async () => {
    const { requestBody, parameters } = operation('/api/orders', 'post') as unknown as {
      requestBody: { content: Json }
      parameters: { name: string; example?: string }[]
    }
    const example = (requestBody.content['application/json'] as Json).example
    const key = parameters.find((p) => p.name === 'idempotency-key')?.example
    expect(example).toBeDefined()
    expect(key).toEqual(expect.any(String))
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': key as string },
        payload: example as Json,
      })
    const first = await send()
    expect(first.statusCode, first.body).toBe(201)
    // Tried again: the same order, as a retry with that key.
    const again = await send()
    expect(again.statusCode, again.body).toBe(200)
    expect(again.json().orderNumber).toBe(first.json().orderNumber)
  })

  it('names each operation once, and keeps no validator-only keyword', () => {
    const ids: string[] = []
    for (const item of Object.values(doc.paths as Record<string, Json>)) {
      for (const op of Object.values(item) as { operationId?: string }[]) {
        expect(op.operationId).toMatch(/^[a-z][A-Za-z0-9]+$/)
        ids.push(op.operationId as string)
      }
    }
    expect(new Set(ids).size).toBe(ids.length)
    const text = JSON.stringify(doc)
    expect(text).not.toMatch(/"errorMessage"|"~[a-z]+"/)
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })])
  })

  it('documents the errors, Location and Retry-After the order routes send', () => {
    const place = operation('/api/orders', 'post')
    for (const status of ['400', '409', '413', '415', '422', '429', '500', '503']) {
      expect(place.responses[status]?.content, status).toHaveProperty(['application/problem+json'])
    }
    expect(place.responses['201']?.headers).toHaveProperty(['location'])
    expect(place.responses['200']?.headers).toHaveProperty(['location'])
    expect(place.responses['429']?.headers).toHaveProperty(['Retry-After'])
    expect(place.responses['503']?.headers).toHaveProperty(['Retry-After'])
    expect(Object.keys(operation('/api/orders/{orderNumber}', 'get').responses)).toEqual(
      expect.arrayContaining(['200', '400', '404', '414', '429', '503']),
    )
    const transition = operation('/api/admin/orders/{orderNumber}/transitions', 'post')
    expect(Object.keys(transition.responses)).toEqual(
      expect.arrayContaining(['400', '401', '403', '404', '409', '412', '413', '415', '428']),
    )
    // Not rate-limited: no 429 claimed.
    expect(transition.responses['429']).toBeUndefined()
    const problem = (
      doc.components as {
        schemas: Record<string, { required: string[]; properties: Record<string, unknown> }>
      }
    ).schemas.Problem
    // out-of-stock's units left per short product (POST /api/orders's 409).
    expect(problem?.properties.available).toMatchObject({
      type: 'array',
      items: { properties: { sku: { type: 'string' }, units: { type: 'integer' } } },
    })
    expect(problem?.required).toEqual(
      expect.arrayContaining([
        'type',
        'title',
        'status',
        'detail',
        'statusCode',
        'error',
        'message',
      ]),
    )
  })

  it('documents 401 and 403 on every operation behind the staff token, and nowhere else', async () => {
    let secured = 0
    for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
      for (const [method, op] of Object.entries(item) as [string, Json][]) {
        const responses = op.responses as Record<string, { headers?: Json }>
        const where = `${method} ${path}`
        if (!usesStaffToken(op)) {
          expect(responses['401'], where).toBeUndefined()
          continue
        }
        secured++
        expect(Object.keys(responses), where).toEqual(expect.arrayContaining(['401', '403']))
        expect(Object.keys(responses['401']?.headers ?? {}), where).toContain('WWW-Authenticate')
        // A malformed Bearer header is 400 invalid_request (RFC 6750 §3.1).
        expect(Object.keys(responses['400']?.headers ?? {}), where).toContain('WWW-Authenticate')
      }
    }
    // Every /api/admin route is one of them, /api/admin/me included (it listed no 401).
    const adminOps = Object.entries(doc.paths as Record<string, Json>)
      .filter(([path]) => path.startsWith('/api/admin'))
      .flatMap(([, item]) => Object.values(item))
    expect(secured).toBe(adminOps.length)
    expect(Object.keys(operation('/api/admin/me', 'get').responses)).toContain('401')
    // And the document says what the service answers.
    const me = await t.app.inject({ url: '/api/admin/me' })
    expect(me.statusCode).toBe(401)
  })

  it("names the deliveries' webhook-id as the dispatcher sends it", () => {
    const delivery = ((doc.components as Json).schemas as Json).Delivery as
      | { properties: Json }
      | undefined
    const text = JSON.stringify(
      delivery ??
        operation('/api/admin/webhooks/{id}/deliveries', 'get').responses['200']?.content ??
        {},
    )
    // webhookId is the header as sent (evt_ + the event's random UUID); eventId, this database's
    // number for the event, no longer claims to be in it.
    expect(text).toContain(
      "the `webhook-id` header of this delivery's requests: `evt_` + a random UUID",
    )
    expect(text).not.toContain('`webhook-id` header is `evt_` + it')
    const pattern = /"webhookId":\{.*?"pattern":"([^"]+)"/.exec(text)?.[1]
    expect(pattern).toBeDefined()
    const sent = webhookId(randomUUID())
    expect(sent).toMatch(/^evt_/)
    expect(sent).toMatch(new RegExp(pattern as string))
    expect(text).not.toContain('msg_')
  })

  it('gives every operation JSON bodies only, and says a form is 415 there', () => {
    let bodies = 0
    for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
      for (const [method, op] of Object.entries(item) as [string, Json][]) {
        const body = op.requestBody as { content: Json } | undefined
        if (!body) continue
        bodies++
        expect(Object.keys(body.content), `${method} ${path}`).toEqual(['application/json'])
        const responses = op.responses as Record<string, { description: string }>
        expect(responses['415']?.description, `${method} ${path}`).toBe(
          'The body is not JSON: send application/json (or is compressed: send it without Content-Encoding)',
        )
      }
    }
    expect(bodies).toBeGreaterThan(5)
    const placing = (doc.paths as Record<string, Json>)['/api/orders']?.post as Json
    expect((placing.responses as Record<string, Json>)['415']?.description).toBe(
      'The body is not JSON: send application/json (or is compressed: send it without Content-Encoding)',
    )
  })

  it('documents 413 and 415 on exactly the operations that answer them', async () => {
    // Each operation, sent a body it cannot read three ways: of a type no route reads, coded
    // (Content-Encoding), and over 64 KiB. Body-less POSTs and DELETEs read (and refuse) bodies
    // too; GET never reads one, so a body there changes nothing.
    const sends = [
      { status: 415, headers: { 'content-type': 'text/plain' }, payload: 'hello' },
      {
        status: 415,
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        payload: '{}',
      },
      { status: 413, headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(70_000) },
    ]
    let operations = 0
    for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
      for (const [method, op] of Object.entries(item) as [string, Json][]) {
        operations++
        const documented = Object.keys(op.responses as Json)
        for (const send of sends) {
          const res = await t.app.inject({
            method: method.toUpperCase() as 'POST',
            url: path.replace(/\{[^}]+\}/g, 'x'),
            headers: { ...send.headers, authorization: `Bearer ${token}` },
            payload: send.payload,
          })
          const where = `${method} ${path} answered ${res.statusCode} to ${JSON.stringify(send.headers)}`
          expect(res.statusCode === send.status, where).toBe(documented.includes(`${send.status}`))
        }
      }
    }
    expect(operations).toBeGreaterThan(25)
  })

  it('declares the rate-limit headers on every answer of exactly the operations that send them', async () => {
    // Each operation asked as the 413/415 test asks it (a body no route reads), each from an
    // address of its own (the limit's key): the rate-limited ones answer with the headers.
    const limited: string[] = []
    let client = 0
    for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
      for (const method of Object.keys(item)) {
        const where = `${method} ${path}`
        const op = operation(path, method)
        const remoteAddress = `198.51.100.${++client}`
        const ask = () =>
          t.app.inject({
            method: method.toUpperCase() as 'POST',
            url: path.replace(/\{[^}]+\}/g, 'x'),
            headers: { 'content-type': 'text/plain', authorization: `Bearer ${token}` },
            payload: 'hello',
            remoteAddress,
          })
        const first = await ask()
        const claims = Object.entries(op.responses)
          .filter(([, response]) => counted.some((name) => name in (response.headers ?? {})))
          .map(([status]) => status)
        if (first.headers['x-ratelimit-limit'] === undefined) {
          // Not limited (GET /api/orders/{orderNumber}'s 429 is the lookup misses' own): no claim.
          expect(claims, where).toEqual([])
          continue
        }
        limited.push(where)
        // Every answer the operation documents declares them: the limit counts before the body
        // is read, so its refusals carry them too (those answered before it are no response of
        // the operation's: a missing Host header, an overloaded or stopping service's 503).
        expect(claims, where).toContain('429')
        expect(claims.sort(), where).toEqual(Object.keys(op.responses).sort())
        // Spend the address's budget: the 429 sends all four, as declared.
        let last = first
        for (let i = Number(first.headers['x-ratelimit-limit']); i > 0; i--) last = await ask()
        expect(last.statusCode, where).toBe(429)
        expectDeclared(op, last, where)
        expect(last.headers['x-ratelimit-remaining']).toBe('0')
        expect(last.headers['retry-after']).toBe(last.headers['x-ratelimit-reset'])
      }
    }
    // The order routes' limit (src/orders/rate-limit.ts); the hidden form's POST /orders too.
    expect(limited).toContain('post /api/orders')

    // Successes as the service sends them: an order placed (201) and replayed (200).
    const place = operation('/api/orders', 'post')
    const key = randomUUID()
    const order = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': key },
        payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer },
        remoteAddress: '203.0.113.77',
      })
    const placed = await order()
    expect(placed.statusCode).toBe(201)
    expectDeclared(place, placed, 'post /api/orders')
    const replayed = await order()
    expect(replayed.statusCode).toBe(200)
    expectDeclared(place, replayed, 'post /api/orders')
    expect(Number(replayed.headers['x-ratelimit-remaining'])).toBe(
      Number(placed.headers['x-ratelimit-remaining']) - 1,
    )

    // Defined once, each saying what it counts, per what, in what unit, and when it is absent.
    const headers = declared(place.responses['429'])
    expect(headers['X-RateLimit-Limit']?.description).toMatch(/client address/)
    expect(headers['X-RateLimit-Limit']?.description).toMatch(/minute|60 seconds/)
    for (const name of ['X-RateLimit-Reset', 'Retry-After']) {
      expect(headers[name]?.description, name).toMatch(/[Ss]econds/)
    }
    for (const name of counted) {
      expect(headers[name]?.description, name).toContain('RATE_LIMIT_MAX=0')
      expect(place.responses['201']?.headers?.[name], name).toEqual({
        $ref: `#/components/headers/${name}`,
      })
    }
  })

  it('declares the rate-limit headers on the refusals POST /api/orders sends after counting', async () => {
    const place = operation('/api/orders', 'post')
    const key = randomUUID()
    const placed = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': key },
      payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer },
      remoteAddress: '203.0.113.78',
    })
    expect(placed.statusCode).toBe(201)
    const refusals = [
      { status: 415, headers: { 'content-type': 'text/plain' }, payload: 'hello' },
      { status: 413, headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(70_000) },
      { status: 400, headers: {}, payload: {} },
      {
        status: 422,
        headers: { 'idempotency-key': key },
        payload: { items: [{ sku: 'MUG-001', quantity: 2 }], customer },
      },
      {
        status: 409,
        headers: { 'idempotency-key': randomUUID() },
        payload: { items: [{ sku: 'MUG-001', quantity: 1, unitPriceCents: 1 }], customer },
      },
    ]
    for (const { status, headers, payload } of refusals) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers,
        payload,
        remoteAddress: '203.0.113.78',
      })
      expect(res.statusCode, res.body).toBe(status)
      expectDeclared(place, res, 'post /api/orders')
    }
  })
})

describe('the OpenAPI document with the rate limit off (RATE_LIMIT_MAX=0)', () => {
  let off: TestApp
  afterAll(() => off?.close())

  it('declares no 429 and no X-RateLimit-* on POST /api/orders, which sends none', async () => {
    off = await buildTestApp({ RATE_LIMIT_MAX: '0' })
    const unlimited = (await off.app.inject({ url: '/openapi.json' })).json()
    const place = unlimited.paths['/api/orders'].post as { responses: Record<string, Json> }
    expect(Object.keys(place.responses)).not.toContain('429')
    const text = JSON.stringify(unlimited)
    for (const name of counted) expect(text, name).not.toContain(name)
    expect(text).not.toContain('Retry-After-RateLimit')
    const answers = [
      await off.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': randomUUID() },
        payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer },
      }),
      await off.app.inject({ method: 'POST', url: '/api/orders', payload: {} }),
    ]
    expect(answers.map((a) => a.statusCode)).toEqual([201, 400])
    for (const answer of answers) {
      expect(Object.keys(answer.headers).filter((h) => h.startsWith('x-ratelimit'))).toEqual([])
    }
  })
})

describe('the OpenAPI document with the lookup-miss limit off', () => {
  // LOOKUP_MISS_MAX=0 switches it off, and so does RATE_LIMIT_MAX=0 (orders/plugin.ts).
  it.each([
    ['LOOKUP_MISS_MAX', { LOOKUP_MISS_MAX: '0' }, true],
    ['RATE_LIMIT_MAX', { RATE_LIMIT_MAX: '0' }, false],
  ])(
    'with %s=0 declares no 429 on GET /api/orders/{orderNumber}, which sends none',
    async (_, env, orderLimited) => {
      const off = await buildTestApp(env)
      try {
        const unlimited = (await off.app.inject({ url: '/openapi.json' })).json()
        const paths = unlimited.paths as Record<
          string,
          Record<string, { responses: Json; description?: string }>
        >
        const lookup = paths['/api/orders/{orderNumber}']?.get
        expect(Object.keys(lookup?.responses ?? {})).toEqual(
          expect.arrayContaining(['200', '400', '404', '414', '500', '503']),
        )
        expect(Object.keys(lookup?.responses ?? {})).not.toContain('429')
        expect(lookup?.description ?? '').not.toContain('LOOKUP_MISS_MAX')
        // The order limit, a limiter of its own, is documented as long as it is on.
        expect(Object.keys(paths['/api/orders']?.post?.responses ?? {}).includes('429')).toBe(
          orderLimited,
        )
        // Past the default 30 misses a minute, still 404s.
        for (let i = 0; i < 31; i++) {
          const res = await off.app.inject(`/api/orders/00000-${String(i).padStart(5, '0')}`)
          expect(res.statusCode).toBe(404)
        }
      } finally {
        await off.close()
      }
    },
  )
})

it("the lookup-miss limit's description gives the limit this service applies", async () => {
  const five = await buildTestApp({ LOOKUP_MISS_MAX: '5' })
  try {
    const doc = (await five.app.inject({ url: '/openapi.json' })).json()
    expect(doc.paths['/api/orders/{orderNumber}'].get.description).toContain(
      'LOOKUP_MISS_MAX times in a minute (5 here)',
    )
    for (let i = 0; i < 5; i++) await five.app.inject(`/api/orders/00000-0000${i}`)
    const refused = await five.app.inject('/api/orders/00000-00005')
    expect(refused.statusCode).toBe(429)
  } finally {
    await five.close()
  }
})
