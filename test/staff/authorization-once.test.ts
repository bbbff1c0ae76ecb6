// Authorization given in two lines (RFC 6750 §3.1: a request that "repeats the same parameter" is
// invalid_request). Node keeps the first line and drops the rest, so an admin's token then a
// clerk's was served as the admin, and the other way round as the clerk: now 400, on the staff
// API, the back office's pages and /metrics, the places that authenticate a request (off the
// wire too: test/ops/raw-http.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken, signIn } from '../helpers/staff.ts'

const metricsToken = 'a-long-enough-secret-token'
let t: TestApp
let admin: string
let clerk: string
beforeAll(async () => {
  t = await buildTestApp({ METRICS_TOKEN: metricsToken })
  admin = await addToken(t.app, await addStaff(t.app, 'boss@example.com', 'admin'))
  clerk = await addToken(t.app, await addStaff(t.app, 'clerk@example.com', 'staff'))
})
afterAll(() => t?.close())

const sentence = 'The request has more than one Authorization header: send it once.'
/** Two Authorization lines (inject keeps the first in `headers`, both in `rawHeaders`, as Node). */
const twice = (first: string, second: string): Record<string, string[]> => ({
  authorization: [`Bearer ${first}`, `Bearer ${second}`],
})

describe('Authorization in two lines', () => {
  it('is a 400 invalid_request on the staff API, whichever token comes first', async () => {
    for (const [first, second] of [
      [admin, clerk],
      [clerk, admin],
      [admin, admin],
    ] as const) {
      for (const url of ['/api/admin/me', '/api/admin/staff']) {
        const res = await t.app.inject({ url, headers: twice(first, second) })
        expect(res.statusCode, url).toBe(400)
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
        expect(res.headers['www-authenticate']).toBe(
          'Bearer realm="admin", error="invalid_request"',
        )
        expect(res.json()).toMatchObject({
          type: expect.stringMatching(/bad-request$/),
          detail: sentence,
        })
      }
    }
    // One line is served as before.
    const once = await t.app.inject({
      url: '/api/admin/me',
      headers: { authorization: `Bearer ${admin}` },
    })
    expect(once.statusCode).toBe(200)
    expect(once.json().email).toBe('boss@example.com')
  })

  it('is a 400 error page on the back office, signed in or not', async () => {
    const { cookie } = await signIn(t.app, 'boss@example.com')
    for (const headers of [{ cookie }, {}]) {
      const res = await t.app.inject({
        url: '/admin/orders',
        headers: { ...headers, accept: 'text/html', ...twice(admin, clerk) },
      })
      expect(res.statusCode).toBe(400)
      expect(res.headers['content-type']).toMatch(/^text\/html/)
      expect(res.body).toContain(sentence)
    }
    const page = await t.app.inject({
      url: '/admin/orders',
      headers: { cookie, accept: 'text/html' },
    })
    expect(page.statusCode).toBe(200)
  })

  it('is a 400 on /metrics, the right token first or second', async () => {
    for (const authorization of [
      [`Bearer ${metricsToken}`, 'Bearer nope'],
      ['Bearer nope', `Bearer ${metricsToken}`],
    ]) {
      const res = await t.app.inject({
        url: '/metrics',
        headers: { authorization } as Record<string, string[]>,
      })
      expect(res.statusCode).toBe(400)
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="metrics", error="invalid_request"',
      )
      expect(res.json().message).toBe(sentence)
      expect(res.body).not.toContain('http_request_duration_seconds')
    }
  })
})
