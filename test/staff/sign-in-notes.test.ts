import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signInPath } from '../../src/staff/access.ts'
import { formActions, signOutRoute } from '../../src/staff/sign-in-notes.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, form, formHeaders, password, postSignIn, signIn } from '../helpers/staff.ts'

let t: TestApp

beforeAll(async () => {
  t = await buildTestApp({ WEBHOOKS_DISPATCH: 'off' })
  await addStaff(t.app, 'packer@example.com')
})
afterAll(() => t?.close())

/** Every session idle past its 30 minutes (and the minute of slack). */
const idleOut = () =>
  sql`update staff_sessions set last_seen_at = now() - interval '32 minutes'`.execute(t.app.db)

/** The sign-in page a redirect leads to, and its note (`role="status"`), if any. */
async function signInPageAt(location: string) {
  expect(location.startsWith(`${signInPath}?`) || location === signInPath).toBe(true)
  const res = await t.app.inject({ url: location, headers: { accept: 'text/html' } })
  expect(res.statusCode).toBe(200)
  const note = /<p role="status" class="sign-in-note">([^<]*)<\/p>/.exec(res.body)?.[1]
  return note?.replaceAll('&#39;', "'")
}

const statusOf = async (n: string) =>
  (
    await t.app.db
      .selectFrom('orders')
      .select('status')
      .where('order_number', '=', n)
      .executeTakeFirstOrThrow()
  ).status

describe('the sign-in page says why the member is there', () => {
  it('a form sent after the session ended: what it asked was not done, and back to its page after', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    const { cookie, csrf } = await signIn(t.app, 'packer@example.com')
    await idleOut()
    // "Mark packed", pressed after 32 idle minutes (no Referer sent: the route's own page is used).
    const pressed = await t.app.inject({
      method: 'POST',
      url: `/admin/orders/${n}/transitions`,
      headers: { cookie, ...formHeaders },
      payload: form({ _csrf: csrf, to: 'packed', version: '1' }),
    })
    expect(pressed.statusCode).toBe(303)
    const location = pressed.headers.location as string
    expect(location).toBe(
      `/admin/login?next=${encodeURIComponent(`/admin/orders/${n}`)}&ended=order`,
    )
    expect(await signInPageAt(location)).toBe(
      "Your session ended, so your change to the order's status was not done. Sign in again, then do it again.",
    )
    expect(await statusOf(n)).toBe('placed')
    const again = await postSignIn(t.app, {
      email: 'packer@example.com',
      password,
      next: `/admin/orders/${n}`,
    })
    expect(again.headers.location).toBe(`/admin/orders/${n}`)
  })

  it('"Change password" sent after the session ended goes back to /admin/password, not /admin', async () => {
    const { cookie, csrf } = await signIn(t.app, 'packer@example.com')
    await idleOut()
    const res = await t.app.inject({
      method: 'POST',
      url: '/admin/password',
      headers: { cookie, ...formHeaders },
      payload: form({ _csrf: csrf, current: password, password: 'x'.repeat(20), again: 'x' }),
    })
    expect(res.statusCode).toBe(303)
    const location = res.headers.location as string
    expect(location).toBe('/admin/login?next=%2Fadmin%2Fpassword&ended=password')
    expect(await signInPageAt(location)).toBe(
      'Your session ended, so your password change was not done. Sign in again, then do it again.',
    )
  })

  it('a page asked for after the session ended says it ended; a first visit says nothing', async () => {
    const { cookie } = await signIn(t.app, 'packer@example.com')
    await idleOut()
    const ended = await t.app.inject({ url: '/admin/orders', headers: { cookie } })
    expect(ended.headers.location).toBe('/admin/login?next=%2Fadmin%2Forders&ended=page')
    expect(await signInPageAt(ended.headers.location as string)).toBe(
      'Your session has ended. Sign in again to go on.',
    )
    const first = await t.app.inject({ url: '/admin/orders' })
    expect(first.headers.location).toBe('/admin/login?next=%2Fadmin%2Forders')
    expect(await signInPageAt(first.headers.location as string)).toBeUndefined()
  })

  it('signing out says so, also when the session had already ended', async () => {
    const { cookie, csrf } = await signIn(t.app, 'packer@example.com')
    const out = () =>
      t.app.inject({
        method: 'POST',
        url: '/admin/logout',
        headers: { cookie, ...formHeaders },
        payload: form({ _csrf: csrf }),
      })
    const res = await out()
    expect(res.headers.location).toBe('/admin/login?done=signed-out')
    expect(await signInPageAt(res.headers.location as string)).toBe('You are signed out.')
    const late = await out()
    expect(late.statusCode).toBe(303)
    expect(late.headers.location).toBe('/admin/login?next=%2Fadmin&done=signed-out')
    expect(await signInPageAt(late.headers.location as string)).toBe('You are signed out.')
  })

  it('shows only its own sentences: any other value in the query says nothing', async () => {
    for (const query of ['ended=bogus', 'ended=%3Cb%3Ehi%3C%2Fb%3E', 'done=hacked', 'ended=']) {
      expect(await signInPageAt(`/admin/login?${query}`), query).toBeUndefined()
    }
  })

  it('has a sentence for every form of the back office', () => {
    const forms = t.app.adminRoutes
      .filter((r) => r.url.startsWith('/admin') && r.url !== signInPath)
      .flatMap((r) =>
        r.methods.filter((m) => m !== 'GET' && m !== 'HEAD').map((m) => `${m} ${r.url}`),
      )
    expect(forms.length).toBeGreaterThan(15)
    for (const route of forms) {
      if (route === signOutRoute) continue
      expect(formActions[route], route).toBeDefined()
    }
    expect(Object.keys(formActions).filter((r) => !forms.includes(r))).toEqual([])
  })
})
