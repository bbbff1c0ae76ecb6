import { randomUUID } from 'node:crypto'
import type { HTTPMethods } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signInPath } from '../../src/staff/access.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { form, signedInAdmin, signInPage } from '../helpers/staff.ts'

/**
 * No Ajv wording reaches a client (src/validation.ts words every keyword our schemas use). Every
 * route's schema, as registered (app.routeSchemas), is walked: each input (path parameter, query
 * parameter, body field, one level into arrays of objects) is sent every kind of value its
 * schema refuses, and no answer may hold Ajv's phrases.
 */
const raw =
  /must NOT have|must match a schema|must be (string|integer|number|boolean|object|array|null)\b|must be equal to|must match (pattern|format)|must have required property|must pass/

interface Schema {
  type?: string | string[]
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  anyOf?: Schema[]
  enum?: unknown[]
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
  uniqueItems?: boolean
  minProperties?: number
}

/** A value the schema takes, roughly: enough to fill an array or repeat an item. */
function sample(s: Schema): unknown {
  if (s.enum) return s.enum[0]
  if (s.anyOf?.[0]) return sample(s.anyOf[0])
  if (s.type === 'integer' || s.type === 'number') return 1
  if (s.type === 'boolean') return true
  if (s.type === 'array') return [sample(s.items ?? {})]
  if (s.type === 'object') return {}
  return 'x'
}

/** Values the schema refuses, each with the keyword it breaks. `json`: not a form or query. */
function refused(s: Schema, json: boolean): unknown[] {
  const out: unknown[] = []
  if (json) {
    out.push(s.type === 'string' || s.anyOf ? 12345 : 'x', { a: 1 }, [1], null)
    if (s.type === 'array' && s.items?.type === 'object') {
      for (const [name, p] of Object.entries(s.items.properties ?? {}))
        for (const bad of refused(p, json)) out.push([{ [name]: bad }])
    }
  }
  if (s.enum || s.anyOf) out.push('bogus')
  if (s.maxLength !== undefined) out.push('a'.repeat(s.maxLength + 1))
  if (s.minLength) out.push('')
  const list = s.type === 'array' ? s : s.anyOf?.find((b) => b.type === 'array')
  if (list && json) {
    if (list.minItems) out.push([])
    if (list.maxItems !== undefined)
      out.push(Array.from({ length: list.maxItems + 1 }, () => sample(list.items ?? {})))
    if (list.uniqueItems) out.push([sample(list.items ?? {}), sample(list.items ?? {})])
  }
  return out
}

let t: TestApp
let token: string
let session: { cookie: string; csrf: string }
beforeAll(async () => {
  t = await buildTestApp({ WEBHOOKS_ALLOW_LOCAL: 'true' }, { webhookDispatcher: false })
  ;({ token, session } = await signedInAdmin(t.app, 'plain@example.com'))
})
afterAll(() => t?.close())

type Where = 'params' | 'querystring' | 'body'

/** Sends one input of a route: `value` for it (an array in a query or form: repeated). */
async function send(method: HTTPMethods, url: string, where: Where, name: string, value: unknown) {
  const api = url.startsWith('/api/')
  const path = url.replace(/:(\w+)/g, (_, p) =>
    // Other parameters name nothing that exists (a token id of 1 would be the caller's own).
    encodeURIComponent(where === 'params' && p === name ? String(value) : '999999'),
  )
  const query = new URLSearchParams()
  if (where === 'querystring')
    for (const v of [value].flat()) query.append(name, typeof v === 'string' ? v : String(v))
  const hasBody = method !== 'GET' && method !== 'DELETE'
  const headers: Record<string, string> = { 'idempotency-key': randomUUID() }
  let payload: string | undefined
  if (api) {
    headers.authorization = `Bearer ${token}`
    if (hasBody) {
      headers['content-type'] = 'application/json'
      payload = JSON.stringify(where === 'body' ? { [name]: value } : {})
    }
  } else {
    const { cookie, csrf } = url === signInPath ? await signInPage(t.app) : session
    Object.assign(headers, { cookie, accept: 'application/json' })
    if (hasBody) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      const fields = new URLSearchParams(form({ _csrf: csrf }))
      if (where === 'body') for (const v of [value].flat()) fields.append(name, String(v))
      payload = fields.toString()
    }
  }
  const q = query.size > 0 ? `?${query}` : ''
  return t.app.inject({ method, url: `${path}${q}`, headers, payload })
}

describe('what a refused value is told', () => {
  it('never holds Ajv wording, on any input of any route', async () => {
    const leaks: string[] = []
    let sent = 0
    // Signing out would end the session the walk goes on with.
    const routes = t.app.routeSchemas.filter(
      (r) => !r.url.startsWith('/docs') && r.url !== '/admin/logout',
    )
    let refusals = 0
    for (const route of routes) {
      for (const method of route.methods.filter((m) => m !== 'HEAD' && m !== 'OPTIONS')) {
        const schema = (route.schema ?? {}) as Record<Where, Schema | undefined>
        const json = route.url.startsWith('/api/')
        for (const where of ['params', 'querystring', 'body'] as const) {
          const properties = schema[where]?.properties ?? {}
          if (where === 'body' && schema.body) {
            const res = await send(method, route.url, 'body', '_none', undefined)
            sent++
            if (raw.test(res.body)) leaks.push(`${method} ${route.url} {}: ${res.body}`)
          }
          for (const [name, p] of Object.entries(properties)) {
            if (name === '_csrf') continue
            const values = refused(p, json && where === 'body')
            // A query or form parameter given twice.
            if (where !== 'params') values.push(['a', 'b'])
            for (const value of values) {
              const res = await send(method, route.url, where, name, value)
              sent++
              if (res.statusCode === 400) refusals++
              if (raw.test(res.body))
                leaks.push(
                  `${method} ${route.url} ${where}.${name}=${JSON.stringify(value)}: ${res.body}`,
                )
            }
          }
        }
      }
    }
    expect(sent).toBeGreaterThan(200)
    // Signed in all along: the values reached the schemas.
    expect(refusals).toBeGreaterThan(sent / 2)
    expect(leaks).toEqual([])
  })

  const api = (method: HTTPMethods, url: string, payload?: unknown) =>
    t.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, 'idempotency-key': randomUUID() },
      ...(payload === undefined ? {} : { payload: payload as object }),
    })

  it("words the review's cases in plain sentences", async () => {
    const cases: [Promise<{ json: () => { message: string } }>, string][] = [
      [api('PATCH', '/api/admin/products/LMP-006', {}), 'body: send priceCents, onSale or both.'],
      [api('PATCH', '/api/admin/staff/2', {}), 'body: send role, disabled or both.'],
      [
        api('POST', '/api/orders', {
          items: [],
          customer,
        }),
        'items must list at least one entry',
      ],
      [
        api('POST', '/api/admin/webhooks', {
          url: 'http://127.0.0.1:9/in',
          eventTypes: ['order.placed', 'order.placed'],
        }),
        'eventTypes must not list the same value twice (entries 0 and 1 are the same)',
      ],
      [
        api('GET', `/api/admin/orders?q=${'a'.repeat(9000)}`),
        'q must be at most 254 characters long',
      ],
      [api('GET', '/api/admin/orders?status=placed&status=packed'), 'status must be given once'],
      [api('GET', '/api/admin/orders?cursor=a&cursor=b'), 'cursor must be given once'],
    ]
    for (const [answer, message] of cases) {
      const res = await answer
      expect(res.json().message).toBe(message)
    }
  })

  it('says what a union takes, once, not each branch', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/admin/webhooks',
      headers: {
        cookie: session.cookie,
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: `_csrf=${encodeURIComponent(session.csrf)}&url=http://127.0.0.1:9/&eventTypes=${'a'.repeat(101)}`,
    })
    expect(res.statusCode, res.body).toBe(400)
    expect(res.body).not.toMatch(raw)
    // The form's page again, naming the field (src/admin/refused-input.ts).
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    expect(res.body).toContain('The event types must be text or a list of text.')
  })

  it('tells a damaged order-page form to reload, whatever is wrong with its hidden fields', async () => {
    const placed = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: {
        items: [{ sku: 'MUG-001', quantity: 1 }],
        customer,
      },
    })
    const number = placed.json().orderNumber
    const damaged: Record<string, string>[] = [
      { to: 'packed' },
      { to: 'packed', version: '99999999999999999999' },
    ]
    for (const fields of damaged) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/admin/orders/${number}/transitions`,
        headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ _csrf: session.csrf, ...fields }),
      })
      expect(res.statusCode).toBe(400)
      expect(res.body).toContain('This form is damaged; reload the page and try again.')
    }
  })

  it('says the same of an order form without its key as of one with a damaged key', async () => {
    for (const key of [undefined, 'not-a-uuid']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/orders',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({
          'qty-MUG-001': '1',
          ...customer,
          ...(key ? { idempotencyKey: key } : {}),
        }),
      })
      expect(res.statusCode).toBe(400)
      expect(res.body).toContain(
        'This form is missing or damaged; reload the page and submit again.',
      )
    }
  })
})
