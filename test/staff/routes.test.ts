import type { HTTPMethods } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { isAdminRoute, signInPath } from '../../src/staff/access.ts'
import { testDatabase } from '../helpers/context.ts'
import { concrete, registeredRoutes } from '../helpers/routes.ts'
import { addStaff, addToken, form, formHeaders, signIn } from '../helpers/staff.ts'

let app: App
let drop: () => Promise<void>
let clerkId: number

/**
 * The real app, plus routes a careless later change could add: one without an access
 * declaration on each side, one claiming `public` that is not the sign-in page, and admin-only
 * ones, so the guard's fail-closed rules are enumerated along with the real routes.
 */
beforeAll(async () => {
  const db = await testDatabase()
  drop = db.drop
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...db.env })
  const built = await buildApp({ config, salesFold: false })
  const ok = async () => ({ ok: true })
  built.get('/admin/undeclared', ok)
  built.post('/api/admin/undeclared', ok)
  built.get('/admin/claims-public', { config: { access: 'public' } }, ok)
  built.get('/admin/staff-accounts/:id', { config: { access: 'admin' } }, ok)
  built.post('/admin/staff-accounts', { config: { access: 'admin' } }, ok)
  built.get('/api/admin/staff-accounts', { config: { access: 'admin' } }, ok)
  await built.ready()
  app = built
  clerkId = await addStaff(app, 'clerk@example.com', 'staff')
  await addStaff(app, 'boss@example.com', 'admin')
})
afterAll(async () => {
  await app?.close()
  await drop?.()
})

const adminRoutes = () => registeredRoutes(app).filter((r) => isAdminRoute(r.url))
const isSignIn = (url: string) => url === signInPath

describe('every route under /admin and /api/admin', () => {
  it('is found by the enumeration (sanity: the real ones and the added ones)', () => {
    const found = adminRoutes().map((r) => `${r.method} ${r.url}`)
    for (const route of [
      'GET /admin',
      'POST /admin/logout',
      'GET /admin/login',
      'POST /admin/login',
      'GET /api/admin/me',
      'GET /admin/undeclared',
    ]) {
      expect(found).toContain(route)
    }
  })

  it('has the guard attached (the guard saw it registered)', () => {
    const guarded = new Set(app.adminRoutes.flatMap((r) => r.methods.map((m) => `${m} ${r.url}`)))
    for (const r of adminRoutes())
      expect(guarded, `${r.method} ${r.url}`).toContain(`${r.method} ${r.url}`)
  })

  it('sends anonymous page requests to the sign-in page, and answers anonymous API calls 401', async () => {
    for (const { method, url } of adminRoutes()) {
      if (isSignIn(url)) continue
      const res = await app.inject({
        method,
        url: concrete(url),
        headers: formHeaders,
        payload: method === 'GET' || method === 'HEAD' ? undefined : form({}),
      })
      const where = `${method} ${url}`
      if (url.startsWith('/api/')) {
        expect(res.statusCode, where).toBe(401)
        expect(res.headers['www-authenticate'], where).toMatch(/^Bearer /)
      } else {
        expect(res.statusCode, where).toBe(303)
        expect(res.headers.location, where).toMatch(/^\/admin\/login(\?next=|$)/)
      }
    }
  })

  it('lets only the sign-in page through anonymously', async () => {
    expect((await app.inject({ url: signInPath })).statusCode).toBe(200)
    expect((await app.inject({ method: 'HEAD', url: signInPath })).statusCode).toBe(200)
    // POST without the pre-session CSRF token: refused.
    const post = await app.inject({
      method: 'POST',
      url: signInPath,
      headers: formHeaders,
      payload: form({}),
    })
    expect(post.statusCode).toBe(403)
  })

  it('refuses staff (403) every route declared admin-only or declaring nothing, page and API', async () => {
    const { cookie, csrf } = await signIn(app, 'clerk@example.com')
    const token = await addToken(app, clerkId)
    for (const route of app.adminRoutes) {
      if (route.access === 'staff' || (route.access === 'public' && isSignIn(route.url))) continue
      for (const method of route.methods as HTTPMethods[]) {
        const api = route.url.startsWith('/api/')
        const res = await app.inject({
          method,
          url: concrete(route.url),
          headers: api ? { authorization: `Bearer ${token}` } : { cookie, ...formHeaders },
          payload: method === 'GET' || method === 'HEAD' ? undefined : form({ _csrf: csrf }),
        })
        expect(res.statusCode, `${method} ${route.url}`).toBe(403)
      }
    }
  })

  it('lets admins call admin-only routes, and refuses them routes that declare nothing', async () => {
    const { cookie, csrf } = await signIn(app, 'boss@example.com')
    const call = (method: HTTPMethods, url: string) =>
      app.inject({
        method,
        url,
        headers: { cookie, ...formHeaders },
        payload: method === 'GET' ? undefined : form({ _csrf: csrf }),
      })
    expect((await call('GET', '/admin/staff-accounts/7')).statusCode).toBe(200)
    expect((await call('POST', '/admin/staff-accounts')).statusCode).toBe(200)
    expect((await call('GET', '/admin/undeclared')).statusCode).toBe(403)
    expect((await call('GET', '/admin/claims-public')).statusCode).toBe(403)
  })

  it('refuses an unsafe admin request without the session CSRF token (403), for admins too', async () => {
    const { cookie } = await signIn(app, 'boss@example.com')
    const res = await app.inject({
      method: 'POST',
      url: '/admin/staff-accounts',
      headers: { cookie, ...formHeaders },
      payload: form({}),
    })
    expect(res.statusCode).toBe(403)
  })
})

describe('a form route under /admin sent no form', () => {
  // docs/back-office.md: a missing or wrong CSRF token is 403. No body at all, or an empty one of any type,
  // carries no token either: 403 before the body's schema is looked at, never a 400. A JSON body
  // with anything in it is refused for its type (415: the forms take urlencoded bodies only)
  // before it is read, so it never reaches the token check either.
  it('is 403 on every unsafe page route, whatever the body is missing in (415 for a JSON one)', async () => {
    const { cookie } = await signIn(app, 'boss@example.com')
    const unsafe = app.adminRoutes
      .filter((r) => !r.url.startsWith('/api/'))
      .flatMap((r) => r.methods.filter((m) => !['GET', 'HEAD'].includes(m)).map((m) => [m, r.url]))
    expect(unsafe.map(([m, url]) => `${m} ${url}`)).toContain('POST /admin/logout')
    const bodies: [string, Record<string, string>, string | undefined, number][] = [
      ['no body, no type', {}, undefined, 403],
      ['an empty JSON body', { 'content-type': 'application/json' }, '', 403],
      ['an empty text/plain body', { 'content-type': 'text/plain' }, '', 403],
      ['JSON that is not an object', { 'content-type': 'application/json' }, '[]', 415],
      ['an empty form', { 'content-type': 'application/x-www-form-urlencoded' }, '', 403],
    ]
    for (const [method, url] of unsafe) {
      for (const [what, headers, payload, status] of bodies) {
        const res = await app.inject({
          method: method as HTTPMethods,
          url: concrete(url as string),
          headers: { cookie, accept: 'application/json', ...headers },
          payload,
        })
        expect(res.statusCode, `${method} ${url}, ${what}: ${res.body}`).toBe(status)
      }
    }
  })
})

describe('the OpenAPI document', () => {
  it('describes /api/admin/me with the bearer scheme', async () => {
    const spec = (await app.inject('/openapi.json')).json()
    expect(spec.components.securitySchemes.staffToken).toEqual({
      type: 'http',
      scheme: 'bearer',
      description: 'A staff API token (npm run staff -- token <email>)',
    })
    expect(spec.paths['/api/admin/me'].get.security).toEqual([{ staffToken: [] }])
    // The pages are not API.
    for (const page of ['/admin', '/admin/login', '/admin/logout'])
      expect(spec.paths[page]).toBeUndefined()
  })
})
