import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { concrete, registeredRoutes } from '../helpers/routes.ts'
import { addStaff, addToken, signIn } from '../helpers/staff.ts'

// README, "Problem types": a body that is neither JSON nor a form is 415, on every route that
// reads one; an empty body is no body, whatever its declared type.
let t: TestApp
let auth: Record<string, string>
beforeAll(async () => {
  t = await buildTestApp()
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
      'A body of type text/plain cannot be read here: send JSON (application/json) or a form (application/x-www-form-urlencoded).',
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
