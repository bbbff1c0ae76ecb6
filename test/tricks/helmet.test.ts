import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import helmet from 'helmet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { securityHeaders } from '../../src/plugins/security.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'

// docs/tricks.md, "helmet: headers captured once": src/plugins/security.ts runs helmet's
// middleware once against a stand-in response that has only setHeader and removeHeader, and
// hands the headers it set to every answer. That holds while helmet, for this configuration,
// sets the same headers on every request and sets them through setHeader. This test runs real
// helmet, per request, on real Node responses, and compares.

/** `default-src 'self';img-src 'self' data:` as helmet's directives object. */
function directives(csp: string): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const directive of csp.split(';')) {
    const [name = '', ...values] = directive.trim().split(/\s+/)
    out[name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = values
  }
  return out
}

// What Node itself adds to any answer; everything else came from helmet.
const transport = new Set(['date', 'connection', 'keep-alive', 'content-length'])

describe('helmet headers captured once', () => {
  const captured = securityHeaders()
  let server: Server
  let base: string
  beforeAll(async () => {
    // Real helmet built from the captured policy, run on every request.
    const middleware = helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: directives(captured['content-security-policy'] ?? ''),
      },
      referrerPolicy: { policy: (captured['referrer-policy'] ?? '') as 'same-origin' },
    })
    server = createServer((req, res) => middleware(req, res, () => res.end()))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  const requests: [string, RequestInit][] = [
    ['/', {}],
    [
      '/api/orders',
      { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } },
    ],
    [
      '/orders/X',
      { headers: { 'user-agent': 'Mozilla/5.0 (MSIE 8.0)', 'x-forwarded-proto': 'https' } },
    ],
  ]

  it.each(requests)('are what helmet sets per request: %s', async (url, init) => {
    const res = await fetch(base + url, init)
    const perRequest: Record<string, string> = {}
    res.headers.forEach((value, name) => {
      if (!transport.has(name)) perRequest[name] = value
    })
    expect(perRequest).toEqual(captured)
  })

  it('cover the policy the service declares, and every answer carries them', async () => {
    expect(directives(captured['content-security-policy'] ?? '')).toMatchObject({
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      frameAncestors: ["'none'"],
    })
    let t: TestApp | undefined
    try {
      t = await buildTestApp()
      for (const url of ['/healthz', '/api/products', '/no-such-page']) {
        const res = await t.app.inject({ url })
        for (const [name, value] of Object.entries(captured))
          expect(res.headers[name], `${url} ${name}`).toBe(value)
        // helmet's x-powered-by removal (removeHeader, a no-op in the capture): Fastify sets none.
        expect(res.headers['x-powered-by']).toBeUndefined()
      }
    } finally {
      await t?.close()
    }
  })
})
