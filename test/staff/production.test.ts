import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, cookieHeader, password, postSignIn } from '../helpers/staff.ts'

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
