// setup() of the k6 scripts against the real service: with its rate limit on (RATE_LIMIT_MAX,
// 60 a minute by default) a load test's own orders come back 429 and read as the service
// failing, so setup() stops the run and says to start the service with RATE_LIMIT_MAX=0.
// k6/http is synchronous and exists only in k6: here it answers with what the service answered
// app.inject just before, for the three requests setup() makes.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { announcedRateLimit } from '../../k6/lib/rate-limit.js'
import { buildTestApp, type TestApp } from '../helpers/context.ts'

interface Answer {
  status: number
  body: string
  headers: Record<string, string>
  error?: string
}
const answers = new Map<string, Answer>()
const sent: string[] = []
const answer = (method: string, url: string): Answer => {
  const path = new URL(url).pathname
  sent.push(`${method} ${path}`)
  const found = answers.get(`${method} ${path}`)
  if (!found) throw new Error(`no answer for ${method} ${path}`)
  return found
}
vi.mock('k6/http', () => ({
  default: {
    get: (url: string) => answer('GET', url),
    post: (url: string) => answer('POST', url),
    expectedStatuses: () => ({}),
  },
}))
vi.mock('k6/execution', () => ({
  default: {
    test: {
      abort: (message: string) => {
        throw new Error(`aborted: ${message}`)
      },
    },
  },
}))
vi.mock('k6', () => ({ check: () => true, sleep: () => {} }))
vi.mock('k6/metrics', () => ({ Counter: class {}, Rate: class {}, Trend: class {} }))

const { checkService } = await import('../../k6/lib/service-checks.js')

/** Loads what the service answers to setup()'s requests, with k6's canonical header names. */
async function answersOf(t: TestApp) {
  answers.clear()
  sent.length = 0
  const requests = [
    ['GET', '/healthz', undefined],
    ['POST', '/api/orders', '{}'],
    ['GET', '/api/products', undefined],
  ] as const
  for (const [method, url, payload] of requests) {
    const res = await t.app.inject({
      method,
      url,
      payload,
      headers: { accept: 'application/json', 'content-type': 'application/json' },
    })
    const headers = Object.fromEntries(
      Object.entries(res.headers).map(([name, value]) => [
        name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()),
        String(value),
      ]),
    )
    answers.set(`${method} ${url}`, { status: res.statusCode, body: res.body, headers })
  }
}

describe("the k6 scripts' setup()", () => {
  let limited: TestApp
  let open: TestApp
  beforeAll(async () => {
    limited = await buildTestApp()
    open = await buildTestApp({ RATE_LIMIT_MAX: '0' })
  })
  afterAll(async () => {
    await limited?.close()
    await open?.close()
  })

  it('stops the run against a service that rate-limits orders, saying how to start it', async () => {
    await answersOf(limited)
    const probe = answers.get('POST /api/orders')
    // The probe order is refused (nothing placed) and announces the limit.
    expect(probe?.status).toBe(400)
    expect(announcedRateLimit(probe?.headers)).toBe(60)
    expect(() => checkService(100)).toThrow(
      'aborted: the service at http://localhost:3000 rate-limits orders (it allows 60 orders a minute per client, X-RateLimit-Limit): this run would get 429s for its own orders and count them as the service failing. Start the service with RATE_LIMIT_MAX=0 for load tests.',
    )
  })

  it('says the same when the limit is already spent (429)', async () => {
    await answersOf(limited)
    answers.set('POST /api/orders', { status: 429, body: '{}', headers: {} })
    expect(() => checkService(100)).toThrow(/rate-limits orders \(it answers 429/)
  })

  it('goes on against a service started with RATE_LIMIT_MAX=0', async () => {
    await answersOf(open)
    expect(announcedRateLimit(answers.get('POST /api/orders')?.headers)).toBeNull()
    const info = checkService(10)
    expect(info.ok).toBe(true)
    expect(info.products).toBeGreaterThan(0)
    expect(sent).toEqual(['GET /healthz', 'POST /api/orders', 'GET /api/products'])
  })
})
