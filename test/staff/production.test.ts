import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, cookieHeader, password, postSignIn, signIn } from '../helpers/staff.ts'

let t: TestApp

beforeAll(async () => {
  t = await buildTestApp({ NODE_ENV: 'production' })
  await addStaff(t.app, 'clerk@example.com')
})
afterAll(() => t?.close())

const flags = /^[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Lax; Secure$/

it('in production the cookies are __Host- prefixed, Secure, HttpOnly, SameSite=Lax, for the whole site', async () => {
  const page = await t.app.inject({ url: '/admin/login' })
  const login = [page.headers['set-cookie']].flat()[0] ?? ''
  expect(login.replace(/^__Host-staff_login=/, '')).toMatch(flags)

  const res = await postSignIn(t.app, { email: 'clerk@example.com', password })
  expect(res.statusCode).toBe(303)
  const session = [res.headers['set-cookie']]
    .flat()
    .find((c) => c?.startsWith('__Host-staff_session='))
  expect(session?.replace(/^__Host-staff_session=/, '')).toMatch(flags)
  const cookie = cookieHeader(res.headers['set-cookie'])
  expect((await t.app.inject({ url: '/admin', headers: { cookie } })).statusCode).toBe(200)
  // The same value without the prefix (a cookie a subdomain or plain HTTP could set) opens nothing.
  const unprefixed = cookie.replaceAll('__Host-', '')
  expect((await t.app.inject({ url: '/admin', headers: { cookie: unprefixed } })).statusCode).toBe(
    303,
  )
})

it("in production a new secret's one-time cookie is __Host- prefixed and Secure too", async () => {
  await addStaff(t.app, 'boss@example.com', 'admin')
  const boss = await signIn(t.app, 'boss@example.com')
  const res = await t.app.inject({
    method: 'POST',
    url: '/admin/webhooks',
    headers: { cookie: boss.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `_csrf=${boss.csrf}&url=https://93.184.215.14/hooks&eventTypes=order.placed`,
  })
  expect(res.statusCode).toBe(303)
  const reveal = [res.headers['set-cookie']].flat()[0] ?? ''
  expect(reveal).toMatch(
    /^__Host-webhook_new_secret=\d+\.whsec_[A-Za-z0-9+/]{43}=; Path=\/; Max-Age=120; HttpOnly; SameSite=Lax; Secure$/,
  )
  const cookie = cookieHeader(res.headers['set-cookie'], boss.cookie)
  const page = await t.app.inject({ url: res.headers.location as string, headers: { cookie } })
  expect(page.body).toContain('<code id="secret">whsec_')
})

it('says sign-in needs HTTPS when production is reached over plain HTTP on another host', async () => {
  // The browser drops the __Host-/Secure cookies there, and every sign-in was a 403 "expired form".
  const plain = await t.app.inject({ url: '/admin/login', headers: { host: '192.0.2.2:3701' } })
  expect(plain.statusCode).toBe(200)
  expect(plain.body).toContain('Sign-in needs HTTPS')
  const posted = await t.app.inject({
    method: 'POST',
    url: '/admin/login',
    headers: { host: '192.0.2.2:3701', 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'email=clerk%40example.com&password=x',
  })
  expect(posted.statusCode).toBe(403)
  expect(posted.body).toContain('Sign-in needs HTTPS')
  // Loopback is a secure context for browsers: the cookies stick, no notice.
  for (const host of ['localhost:3701', '127.0.0.1:3701', '[::1]:3701']) {
    const page = await t.app.inject({ url: '/admin/login', headers: { host } })
    expect(page.body, host).not.toContain('needs HTTPS')
  }
  // Behind a trusted proxy that terminated TLS, request.protocol is https: no notice.
  const proxied = await buildTestApp({ NODE_ENV: 'production', TRUST_PROXY: 'true' })
  try {
    const page = await proxied.app.inject({
      url: '/admin/login',
      headers: { host: 'shop.example.com', 'x-forwarded-proto': 'https' },
    })
    expect(page.body).not.toContain('needs HTTPS')
    const plainToo = await proxied.app.inject({
      url: '/admin/login',
      headers: { host: 'shop.example.com', 'x-forwarded-proto': 'http' },
    })
    expect(plainToo.body).toContain('Sign-in needs HTTPS')
  } finally {
    await proxied.close()
  }
})
