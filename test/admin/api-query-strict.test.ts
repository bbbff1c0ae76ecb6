import type { HTTPMethods } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { signedInAdmin } from '../helpers/staff.ts'

/** A path parameter's value that its schema takes (no row needs to exist: the query is refused first). */
const sample: Record<string, string> = {
  id: '1',
  tokenId: '1',
  deliveryId: '1',
  sku: 'NO-SUCH-SKU',
  orderNumber: '7K3QX-M2ZPA',
  state: 'TX',
}

/**
 * Every JSON route under /api/admin refuses a query parameter it does not take (400 naming it,
 * docs/api.md "Unknown fields"), whatever feature registers it: walked from the app's own list
 * of routes (app.routeSchemas), so a route added later without a strict query fails here.
 * The back office's pages stay lenient.
 */
describe('/api/admin: unknown query parameters', () => {
  let t: TestApp
  let admin: Awaited<ReturnType<typeof signedInAdmin>>
  const apiRoutes = () =>
    t.app.routeSchemas.filter((r) => r.url === '/api/admin' || r.url.startsWith('/api/admin/'))

  beforeAll(async () => {
    t = await buildTestApp({ WEBHOOKS_ALLOW_LOCAL: 'true', WEBHOOKS_DISPATCH: 'off' })
    admin = await signedInAdmin(t.app, 'strict-query@example.com')
  })
  afterAll(() => t?.close())

  it('every /api/admin route declares a query string that takes no other parameter', () => {
    const routes = apiRoutes()
    // The walk sees the features' routes, not an empty list.
    for (const url of ['/api/admin/staff', '/api/admin/me', '/api/admin/products'])
      expect(routes.map((r) => r.url)).toContain(url)
    const lenient = routes
      .filter(
        (r) =>
          (r.schema?.querystring as { additionalProperties?: unknown } | undefined)
            ?.additionalProperties !== false,
      )
      .map((r) => `${r.methods.join(',')} ${r.url}`)
    expect(lenient).toEqual([])
  })

  it('answers a bodiless route 400 naming the parameter, before the route runs', async () => {
    const bodiless = apiRoutes().filter((r) => !r.schema?.body)
    expect(bodiless.length).toBeGreaterThan(5)
    for (const route of bodiless) {
      const path = route.url.replace(/:([A-Za-z]+)/g, (_, name: string) => sample[name] ?? '1')
      for (const method of route.methods.filter((m) => m !== 'HEAD') as HTTPMethods[]) {
        const res = await t.app.inject({
          method,
          url: `${path}?utmSource=x`,
          headers: { authorization: `Bearer ${admin.token}` },
        })
        expect(res.statusCode, `${method} ${route.url}`).toBe(400)
        expect(res.json().message, `${method} ${route.url}`).toBe(
          'querystring has an unknown field "utmSource"',
        )
      }
    }
    // Nothing ran: the staff list still holds its one member and its token works.
    const me = await t.app.inject({
      url: '/api/admin/me',
      headers: { authorization: `Bearer ${admin.token}` },
    })
    expect(me.statusCode).toBe(200)
  })

  it('keeps the pages lenient: a parameter a page does not read is ignored', async () => {
    const res = await t.app.inject({
      url: '/admin/staff?utm_source=x',
      headers: { cookie: admin.session.cookie },
    })
    expect(res.statusCode).toBe(200)
  })
})
