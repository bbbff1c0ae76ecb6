import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import {
  addStaff,
  addToken,
  alertOf,
  form,
  formHeaders,
  password,
  passwordHashOf,
  signIn,
  signInStatus,
} from '../helpers/staff.ts'

/**
 * An admin sets another member's password: the form on `/admin/staff/:id` and
 * `PUT /api/admin/staff/:id/password`. Admins only; each test resets an account of its own. The
 * log is captured to prove no password reaches it.
 */
let t: TestApp
const app = () => t.app
let bossId: number
let bossToken: string
let boss: { cookie: string; csrf: string }

beforeAll(async () => {
  t = await buildTestApp({}, { logs: true })
  bossId = await addStaff(app(), 'boss@example.com', 'admin')
  bossToken = await addToken(app(), bossId)
  boss = await signIn(app(), 'boss@example.com')
})
afterAll(() => t?.close())

const rule = 'The password must be 15 to 1024 characters long.'
const newPassword = 'chosen by the admin, long enough'

const get = (url: string, cookie = boss.cookie) =>
  app().inject({ url, headers: { cookie, accept: 'text/html' } })

/** Posts a member's password form (as the boss, with the session's CSRF token by default). */
const post = (id: number, fields: Record<string, string>, who = boss) =>
  app().inject({
    method: 'POST',
    url: `/admin/staff/${id}/password`,
    headers: { cookie: who.cookie, ...formHeaders },
    payload: form({ _csrf: who.csrf, ...fields }),
  })

const put = (id: number, body: object, token: string | null = bossToken) =>
  app().inject({
    method: 'PUT',
    url: `/api/admin/staff/${id}/password`,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    payload: body,
  })

const signsIn = (email: string, pw: string) => signInStatus(app(), email, pw)
const hashOf = (id: number) => passwordHashOf(app(), id)

/** A member with a token and a signed-in session. */
async function member(email: string) {
  const id = await addStaff(app(), email, 'staff')
  return { id, token: await addToken(app(), id), session: await signIn(app(), email) }
}

const tokenWorks = async (token: string) =>
  (await app().inject({ url: '/api/admin/me', headers: { authorization: `Bearer ${token}` } }))
    .statusCode === 200

describe("a member's password, on their page", () => {
  it('sets it: the new one signs in, the old does not, their sessions end, their tokens stay', async () => {
    const m = await member('hal@example.com')
    const form = await get(`/admin/staff/${m.id}`)
    expect(form.body).toContain(`action="/admin/staff/${m.id}/password"`)
    const res = await post(m.id, { password: newPassword })
    expect(res.statusCode).toBe(303)
    expect(res.headers.location).toBe(`/admin/staff/${m.id}?done=password`)
    const page = await get(res.headers.location as string)
    expect(page.body).toContain('New password set: their sessions have ended')
    expect(page.body).not.toContain(newPassword)
    expect((await get('/admin', m.session.cookie)).statusCode).toBe(303)
    expect(await tokenWorks(m.token)).toBe(true)
    expect(await signsIn('hal@example.com', password)).toBe(400)
    expect(await signsIn('hal@example.com', newPassword)).toBe(303)
    // The admin's own session is untouched.
    expect((await get('/admin')).statusCode).toBe(200)
    const line = t.lines().find((l) => l.msg === 'staff password reset')
    expect(line).toMatchObject({ staffId: bossId, memberId: m.id })
  })

  it('refuses a password that breaks the rule (400, the page and the rule), changing nothing', async () => {
    const m = await member('ida@example.com')
    const before = await hashOf(m.id)
    for (const pw of ['too short', '🔑'.repeat(8), '']) {
      const res = await post(m.id, { password: pw })
      expect(res.statusCode, pw).toBe(400)
      expect(alertOf(res.body)).toBe(rule)
    }
    expect(await hashOf(m.id)).toBe(before)
    expect((await get('/admin', m.session.cookie)).statusCode).toBe(200)
  })

  it('is admin-only (staff 403, anonymous to sign-in) and needs the CSRF token (403), changing nothing', async () => {
    const m = await member('jo@example.com')
    const before = await hashOf(m.id)
    const asClerk = await post(m.id, { password: newPassword }, m.session)
    expect(asClerk.statusCode).toBe(403)
    const anonymous = await app().inject({
      method: 'POST',
      url: `/admin/staff/${m.id}/password`,
      headers: formHeaders,
      payload: form({ password: newPassword }),
    })
    expect(anonymous.statusCode).toBe(303)
    expect(anonymous.headers.location).toMatch(/^\/admin\/login\?next=/)
    for (const _csrf of [undefined, 'wrong']) {
      const res = await app().inject({
        method: 'POST',
        url: `/admin/staff/${m.id}/password`,
        headers: { cookie: boss.cookie, ...formHeaders },
        payload: form({ ...(_csrf ? { _csrf } : {}), password: newPassword }),
      })
      expect(res.statusCode, String(_csrf)).toBe(403)
    }
    expect(await hashOf(m.id)).toBe(before)
    expect((await get('/admin', m.session.cookie)).statusCode).toBe(200)
  })

  it('refuses the admin’s own account (409, pointing to their own form) and an unknown one (404)', async () => {
    const before = await hashOf(bossId)
    const own = await post(bossId, { password: newPassword })
    expect(own.statusCode).toBe(409)
    expect(alertOf(own.body)).toMatch(/^To change your own password, use .*\(\/admin\/password\)/)
    expect(await hashOf(bossId)).toBe(before)
    expect((await get(`/admin/staff/${bossId}`)).body).not.toContain(
      `action="/admin/staff/${bossId}/password"`,
    )
    expect((await post(999_999, { password: newPassword })).statusCode).toBe(404)
  })
})

describe('PUT /api/admin/staff/:id/password', () => {
  it('sets it: 204; their sessions end, their tokens stay; a disabled account stays disabled', async () => {
    const m = await member('kim@example.com')
    const res = await put(m.id, { password: newPassword })
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    expect((await get('/admin', m.session.cookie)).statusCode).toBe(303)
    expect(await tokenWorks(m.token)).toBe(true)
    expect(await signsIn('kim@example.com', password)).toBe(400)
    expect(await signsIn('kim@example.com', newPassword)).toBe(303)

    const patched = await app().inject({
      method: 'PATCH',
      url: `/api/admin/staff/${m.id}`,
      headers: { authorization: `Bearer ${bossToken}` },
      payload: { disabled: true },
    })
    expect(patched.statusCode).toBe(200)
    expect((await put(m.id, { password: password })).statusCode).toBe(204)
    const account = await app().inject({
      url: `/api/admin/staff/${m.id}`,
      headers: { authorization: `Bearer ${bossToken}` },
    })
    expect(account.json()).toMatchObject({ disabled: true })
    expect(await signsIn('kim@example.com', password)).toBe(400)
  })

  it('refuses a weak password (400 naming it), staff (403), no token (401), oneself (409), an unknown id (404)', async () => {
    const m = await member('lou@example.com')
    const before = await hashOf(m.id)
    const weak = await put(m.id, { password: 'too short' })
    expect(weak.statusCode).toBe(400)
    expect(weak.headers['content-type']).toContain('application/problem+json')
    expect(weak.json()).toMatchObject({
      detail: rule,
      errors: [{ pointer: '/password', detail: rule }],
    })
    expect((await put(m.id, {})).statusCode).toBe(400)
    expect((await put(m.id, { password: newPassword }, m.token)).statusCode).toBe(403)
    expect((await put(m.id, { password: newPassword }, null)).statusCode).toBe(401)
    expect(await hashOf(m.id)).toBe(before)
    expect((await get('/admin', m.session.cookie)).statusCode).toBe(200)

    const own = await put(bossId, { password: newPassword })
    expect(own.statusCode).toBe(409)
    expect(own.json().detail).toContain('PUT /api/admin/me/password')
    expect((await put(999_999, { password: newPassword })).statusCode).toBe(404)
  })

  it('is in the OpenAPI document with the staffToken scheme, 204, 400, 403, 404 and 409', async () => {
    const spec = (await app().inject('/openapi.json')).json()
    const op = spec.paths['/api/admin/staff/{id}/password'].put
    expect(op.security).toEqual([{ staffToken: [] }])
    for (const status of ['204', '400', '401', '403', '404', '409']) {
      expect(op.responses[status], status).toBeDefined()
    }
  })

  it('logs no password or hash', () => {
    const log = t.output.join('')
    expect(log).toContain('staff password reset')
    for (const secret of [password, newPassword, 'too short', '$argon2id$', '@example.com']) {
      expect(log.includes(secret), secret).toBe(false)
    }
  })
})
