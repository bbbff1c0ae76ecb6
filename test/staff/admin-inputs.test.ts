import type { HTTPMethods } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { signInPath } from '../../src/staff/access.ts'
import { testDatabase } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, addToken, form, signIn, signInPage } from '../helpers/staff.ts'

/**
 * Every string an admin route reads (path parameter, query or body field) with a NUL or a lone
 * surrogate in it: PostgreSQL's text cannot hold U+0000 ("invalid byte sequence for encoding
 * UTF8: 0x00", a 500) and UTF-8 cannot encode a lone surrogate (stored as U+FFFD). Each must be
 * a 400 naming the field. The routes and their inputs are read from the guard's list of every
 * admin route as registered (with its schema), so a route added later is checked too.
 */

type Location = 'params' | 'querystring' | 'body'
interface Input {
  location: Location
  name: string
  /** The body schema takes an array of strings there (sent as one item). */
  array: boolean
}

interface JsonSchema {
  type?: string
  properties?: Record<string, JsonSchema>
  anyOf?: JsonSchema[]
  items?: JsonSchema
}

/** Whether a schema takes a string, or an array of them (`[string]`, `array`). */
function stringKind(schema: JsonSchema): 'string' | 'array' | undefined {
  if (schema.type === 'string') return 'string'
  if (schema.type === 'array' && schema.items && stringKind(schema.items)) return 'array'
  const kinds = (schema.anyOf ?? []).map(stringKind)
  return kinds.includes('string') ? 'string' : kinds.includes('array') ? 'array' : undefined
}

/** The string inputs of a route: its URL's parameters, and its query and body schemas'. */
function stringInputs(
  url: string,
  schema: { querystring?: JsonSchema; body?: JsonSchema } | undefined,
): Input[] {
  const inputs: Input[] = [...url.matchAll(/:(\w+)/g)].map((m) => ({
    location: 'params',
    name: m[1] as string,
    array: false,
  }))
  for (const location of ['querystring', 'body'] as const) {
    for (const [name, property] of Object.entries(schema?.[location]?.properties ?? {})) {
      const kind = stringKind(property)
      // A damaged CSRF token is a wrong one: 403 before any field is read (access.ts).
      if (kind && name !== '_csrf') inputs.push({ location, name, array: kind === 'array' })
    }
  }
  return inputs
}

let app: App
let drop: () => Promise<void>
let token: string
let bossId: number
let session: { cookie: string; csrf: string }

beforeAll(async () => {
  const db = await testDatabase()
  drop = db.drop
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...db.env })
  app = await buildApp({ config, salesFold: false, webhookDispatcher: false, mailer: false })
  await app.ready()
  bossId = await addStaff(app, 'boss@example.com', 'admin')
  token = await addToken(app, bossId)
  session = await signIn(app, 'boss@example.com')
})
afterAll(async () => {
  await app?.close()
  await drop?.()
})

/**
 * Sends `bad` in one input of a route, as an admin would (signed-out for the sign-in form).
 * `existing`: the values of the other parameters that name something that exists (a form that
 * shows its refusals shows them on its order's, member's or endpoint's page), by parameter (`:id`
 * under /admin/staff or /admin/webhooks: `staffId`, `endpointId`); else nothing that exists.
 */
async function send(
  method: HTTPMethods,
  url: string,
  input: Input,
  bad: string,
  existing: Record<string, string> = {},
) {
  const api = url.startsWith('/api/')
  const kind = (name: string) =>
    name !== 'id' ? name : url.startsWith('/admin/staff/') ? 'staffId' : 'endpointId'
  const path = url.replace(/:(\w+)/g, (_, name) =>
    // Other parameters name nothing that exists (a token id of 1 would be the caller's own).
    encodeURIComponent(
      input.location === 'params' && input.name === name ? bad : (existing[kind(name)] ?? '999999'),
    ),
  )
  const query =
    input.location === 'querystring' ? `?${new URLSearchParams({ [input.name]: bad })}` : ''
  const hasBody = method !== 'GET' && method !== 'DELETE'
  const value = input.location === 'body' ? bad : undefined
  let headers: Record<string, string>
  let payload: string | undefined
  if (api) {
    headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    if (hasBody)
      payload = JSON.stringify(
        value === undefined ? {} : { [input.name]: input.array ? [value] : value },
      )
  } else {
    const signingIn = url === signInPath
    const { cookie, csrf } = signingIn ? await signInPage(app) : session
    headers = {
      cookie,
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
    }
    const fields: Record<string, string> = { _csrf: csrf }
    if (value !== undefined) fields[input.name] = value
    if (hasBody) payload = form(fields)
  }
  if (!hasBody) delete headers['content-type']
  return app.inject({ method, url: `${path}${query}`, headers, payload })
}

const cases = () =>
  app.adminRoutes.flatMap((route) =>
    route.methods
      .filter((m) => m !== 'HEAD')
      .flatMap((method) =>
        stringInputs(route.url, route.schema as Parameters<typeof stringInputs>[1]).map(
          (input) => ({
            method: method as HTTPMethods,
            url: route.url,
            input,
            // Its body's (or query's) refusal is its own page with the form (the order page's
            // status form, the products, staff, webhook and password forms, sign-in).
            inForm:
              (route.formShowsRefusals && input.location === 'body') ||
              (route.queryShowsRefusals && input.location === 'querystring'),
          }),
        ),
      ),
  )

describe('a string no database can store, in any input of any admin route', () => {
  it('finds the inputs (sanity: the ones of the review)', () => {
    const found = cases().map((c) => `${c.method} ${c.url} ${c.input.location}.${c.input.name}`)
    for (const input of [
      'POST /admin/login body.email',
      'GET /api/admin/orders/:orderNumber params.orderNumber',
      'GET /admin/orders/:orderNumber params.orderNumber',
      'POST /api/admin/orders/:orderNumber/transitions params.orderNumber',
      'POST /admin/orders/:orderNumber/transitions params.orderNumber',
      'POST /api/admin/products/:sku/restock params.sku',
      'PATCH /api/admin/products/:sku params.sku',
      'GET /api/admin/orders querystring.q',
      'GET /admin/orders querystring.q',
      'GET /admin/orders.csv querystring.q',
      'POST /api/admin/staff body.email',
      'POST /admin/staff body.email',
      'POST /api/admin/webhooks body.description',
      'POST /admin/webhooks body.description',
      'POST /api/admin/webhooks body.eventTypes',
    ]) {
      expect(found).toContain(input)
    }
  })

  // A lone surrogate can come only in JSON: a URL or form escape of one (%ED%A0%80) is not
  // UTF-8, which the router and the form parser already refuse.
  for (const [what, bad, where] of [
    ['a NUL', 'a\u0000@example.com', () => true],
    [
      'a lone surrogate',
      'a\ud800@example.com',
      (url: string, input: Input) => url.startsWith('/api/') && input.location === 'body',
    ],
  ] as const) {
    it(`answers ${what} in each with 400 naming the field`, async () => {
      const wrong: string[] = []
      const order = await placeOrder(app, [{ sku: 'MUG-001', quantity: 1 }])
      const endpoint = await app.inject({
        method: 'POST',
        url: '/api/admin/webhooks',
        headers: { authorization: `Bearer ${token}` },
        payload: { url: 'https://93.184.215.14/inputs', eventTypes: ['order.placed'] },
      })
      const existing = {
        orderNumber: order,
        sku: 'MUG-001',
        staffId: String(bossId),
        endpointId: String(endpoint.json().id),
      }
      for (const { method, url, input, inForm } of cases()) {
        if (!where(url, input)) continue
        const res = await send(method, url, input, bad as string, inForm ? existing : {})
        const message = res.headers['content-type']?.includes('json') ? res.json().message : ''
        // A form showing its refusals: its page again, 400 (the field's sentence when the form is
        // otherwise whole: test/admin/order-page.test.ts, form-refusals.test.ts; here it lacks
        // its other fields).
        const shown = inForm && /^text\/html/.test(res.headers['content-type'] ?? '')
        if (res.statusCode !== 400 || !(shown || String(message).includes(input.name))) {
          wrong.push(
            `${method} ${url} ${input.location}.${input.name}: ${res.statusCode} ${message}`,
          )
        }
      }
      // The endpoint made here is not one the tests below expect.
      await app.inject({
        method: 'DELETE',
        url: `/api/admin/webhooks/${existing.endpointId}`,
        headers: { authorization: `Bearer ${token}` },
      })
      expect(wrong).toEqual([])
    })
  }

  it("answers the review's requests, otherwise valid, with 400 and stores nothing", async () => {
    const api = (method: HTTPMethods, url: string, payload?: object) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, payload })
    const cases = [
      [api('POST', '/api/admin/products/%00/restock', { units: 1 }), 'sku'],
      [api('PATCH', '/api/admin/products/MUG-001%00', { priceCents: 100 }), 'sku'],
      [
        api('POST', '/api/admin/staff', {
          email: 'a\u0000@example.com',
          role: 'staff',
          password: 'a long enough password',
        }),
        'email',
      ],
    ] as const
    for (const [answer, field] of cases) {
      const res = await answer
      expect(res.statusCode, res.body).toBe(400)
      expect(res.json().message).toContain(field)
    }
    const products = await api('GET', '/api/admin/products')
    expect(products.json().find((p: { sku: string }) => p.sku === 'MUG-001')).not.toMatchObject({
      priceCents: 100,
    })
    const staff = await api('GET', '/api/admin/staff')
    expect(staff.json()).toHaveLength(1)
  })

  it('names the parameter or pointer in the problem details', async () => {
    const res = await app.inject({
      url: '/api/admin/orders/%00',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({
      type: 'tag:order-service.example,2026:problems/validation',
      errors: [{ parameter: 'orderNumber' }],
    })
    const body = await app.inject({
      method: 'POST',
      url: '/api/admin/webhooks',
      headers: { authorization: `Bearer ${token}` },
      payload: {
        url: 'https://hooks.example.com/x',
        description: 'a\u0000b',
        eventTypes: ['order.placed'],
      },
    })
    expect(body.statusCode).toBe(400)
    expect(body.json().errors).toEqual([{ pointer: '/description', detail: expect.any(String) }])
    // Nothing was registered.
    const list = await app.inject({
      url: '/api/admin/webhooks',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(list.json()).toEqual([])
  })

  it('still asks who is calling first: anonymous callers get 401 or the sign-in page', async () => {
    expect((await app.inject('/api/admin/orders/%00')).statusCode).toBe(401)
    const page = await app.inject('/admin/orders?q=a%00b')
    expect(page.statusCode).toBe(303)
  })
})
