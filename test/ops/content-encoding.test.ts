import { randomUUID } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { concrete, registeredRoutes } from '../helpers/routes.ts'
import { addStaff, addToken, signIn } from '../helpers/staff.ts'

// RFC 9110 §15.5.16: a body in a content coding the server does not take is 415, and §12.5.3:
// the answer's Accept-Encoding says which codings it takes (identity: none).
let t: TestApp
let auth: Record<string, string>
beforeAll(async () => {
  t = await buildTestApp({ WEBHOOKS_ALLOW_LOCAL: 'true' }, { webhookDispatcher: false })
  const id = await addStaff(t.app, 'encodings@example.com', 'admin')
  const { cookie } = await signIn(t.app, 'encodings@example.com')
  auth = { cookie, authorization: `Bearer ${await addToken(t.app, id)}` }
})
afterAll(() => t?.close())

const order = JSON.stringify({
  customer: { name: 'Ada', email: 'ada@example.com' },
  items: [{ sku: 'MUG-001', quantity: 1 }],
})

/** POST /api/orders with the order as JSON, `payload` (the order by default) in `coding`. */
const postOrder = (coding: string, payload: string | Buffer = order) =>
  t.app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: {
      'idempotency-key': randomUUID(),
      'content-type': 'application/json',
      'content-encoding': coding,
    },
    payload,
  })

describe('a request body with a Content-Encoding', () => {
  it('gzip on POST /api/orders: 415 saying to send it uncompressed, Accept-Encoding: identity', async () => {
    const res = await postOrder('gzip', gzipSync(order))
    expect(res.statusCode).toBe(415)
    expect(res.headers['accept-encoding']).toBe('identity')
    expect(res.json()).toMatchObject({
      type: 'tag:order-service.example,2026:problems/unsupported-media-type',
      status: 415,
      detail:
        'Content-Encoding gzip is not accepted: send the body uncompressed, without Content-Encoding.',
    })
  })

  it('is 415 on every route that takes a body, for any coding but identity', async () => {
    const routes = registeredRoutes(t.app).filter((r) =>
      ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method),
    )
    for (const coding of ['gzip', 'br', 'deflate', 'zstd', 'gzip, identity']) {
      for (const { method, url } of routes) {
        const res = await t.app.inject({
          method,
          url: concrete(url),
          headers: {
            ...auth,
            'idempotency-key': randomUUID(),
            'content-type': 'application/json',
            'content-encoding': coding,
          },
          payload: '{}',
        })
        expect(res.statusCode, `${method} ${url} with ${coding}: ${res.body}`).toBe(415)
        expect(res.headers['accept-encoding']).toBe('identity')
      }
    }
  })

  it('identity is no coding: the body is read as usual', async () => {
    // A blank header or a list of nothing but identity (empty elements allowed, RFC 9110
    // §5.6.1) names no coding either: it was 415 "Content-Encoding  is not accepted".
    for (const coding of ['Identity', '', ' ', 'identity, identity', ', identity ,']) {
      const res = await postOrder(coding)
      expect(res.statusCode, `${JSON.stringify(coding)}: ${res.body}`).not.toBe(415)
      expect(res.statusCode).toBeLessThan(500)
    }
  })
})
