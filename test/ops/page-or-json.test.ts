import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { pageMessages } from '../helpers/reliability.ts'

// An error off /api is the HTML error page unless the client ranks application/json above
// text/html (src/plugins/accept.ts): `curl /orders/ZZZZZ-ZZZZZ` (Accept: */*) once got JSON
// where the README promises "a 404 page", as did any client sending no Accept. /api is always
// problem details. TRUST_PROXY=true: X-Forwarded-For names the client, for the 429 below.
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp({ LOOKUP_MISS_MAX: '1', TRUST_PROXY: 'true' })
})
afterAll(() => t?.close())

const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
/** Each Accept and what it gets off /api. */
const accepts: [string | undefined, 'page' | 'json'][] = [
  [undefined, 'page'],
  ['*/*', 'page'],
  [browser, 'page'],
  ['text/html, application/json', 'page'],
  ['image/png', 'page'],
  ['application/json', 'json'],
  ['application/json, text/html;q=0.9', 'json'],
  ['application/*', 'json'],
  ['text/html;q=0.4, application/json;q=0.5', 'json'],
  ['application/json;q=0, */*', 'page'],
]

let client = 0
/** One request from a client of its own (its own lookup-miss budget). */
const send = (method: 'GET' | 'DELETE', url: string, accept: string | undefined) =>
  t.app.inject({
    method,
    url,
    headers: { 'x-forwarded-for': `192.0.2.${++client}`, ...(accept ? { accept } : {}) },
  })

/** Checks `res` is the error page, or `{statusCode, error, message}`, with `message` in it. */
function expectAnswer(
  res: { statusCode: number; headers: Record<string, unknown>; body: string; json: () => unknown },
  as: 'page' | 'json',
  status: number,
  message: RegExp,
  what = '',
) {
  expect(res.statusCode, what).toBe(status)
  if (as === 'page') {
    expect(res.headers['content-type'], what).toBe('text/html; charset=utf-8')
    expect(pageMessages(res.body)[0], what).toMatch(message)
  } else {
    expect(res.headers['content-type'], what).toBe('application/json; charset=utf-8')
    const body = res.json() as Record<string, unknown>
    expect(Object.keys(body).sort(), what).toEqual(['error', 'message', 'statusCode'])
    expect(body.message, what).toMatch(message)
  }
}

describe('an error off /api: the page, unless JSON is preferred', () => {
  it.each(accepts)('Accept: %s gets the %s', async (accept, as) => {
    const cases: [string, 'GET' | 'DELETE', string, number, RegExp][] = [
      ['unknown order', 'GET', '/orders/ZZZZZ-ZZZZZ', 404, /We could not find order ZZZZZ-ZZZZZ/],
      ['unknown state', 'GET', '/insights/XX', 404, /XX/],
      ['unknown path', 'GET', '/nowhere', 404, /There is nothing at GET \/nowhere/],
      ['another method', 'DELETE', '/orders/ZZZZZ-ZZZZZ', 405, /DELETE is not allowed/],
      ['an address that does not decode', 'GET', '/orders/%C3%28', 400, /%/],
    ]
    for (const [what, method, url, status, message] of cases) {
      expectAnswer(await send(method, url, accept), as, status, message, what)
    }
  })

  it.each(accepts)('Accept: %s, over LOOKUP_MISS_MAX: 429, the %s', async (accept, as) => {
    const address = `198.51.100.${++client}`
    const lookup = (n: string) =>
      t.app.inject({
        url: `/orders/${n}`,
        headers: { 'x-forwarded-for': address, ...(accept ? { accept } : {}) },
      })
    expectAnswer(await lookup('00000-00001'), as, 404, /We could not find order/)
    const res = await lookup('00000-00002')
    expectAnswer(res, as, 429, /Too many unknown order numbers/)
    expect(res.headers['retry-after']).toBeDefined()
  })

  it('from /healthz, /readyz, /metrics and /openapi.json, JSON whatever the Accept', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      for (const [accept] of accepts) {
        expectAnswer(await send('DELETE', path, accept), 'json', 405, /DELETE is not allowed/, path)
      }
    }
  })

  it('under /api, problem details whatever the Accept', async () => {
    for (const [accept] of accepts) {
      const res = await send('GET', '/api/orders/ZZZZZ-ZZZZZ', accept)
      expect(res.statusCode).toBe(404)
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    }
    const html = await send('GET', '/api/nowhere', browser)
    expect(html.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    // /api itself too (it was the shop's HTML 404 page); /apis is another path, off /api.
    for (const url of ['/api', '/api?x=1']) {
      for (const method of ['GET', 'DELETE'] as const) {
        const root = await send(method, url, browser)
        expect(root.statusCode, url).toBe(404)
        expect(root.headers['content-type'], url).toBe('application/problem+json; charset=utf-8')
      }
    }
    expect((await send('GET', '/apis', browser)).headers['content-type']).toBe(
      'text/html; charset=utf-8',
    )
  })
})
