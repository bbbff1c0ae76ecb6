import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { digest } from '../../src/staff/secrets.ts'
import { throttle } from '../../src/staff/sign-in.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import {
  addStaff,
  addToken,
  alertOf,
  cookieHeader,
  csrfOf,
  form,
  formHeaders,
  password,
  passwordHashOf,
  signIn,
  signInStatus,
} from '../helpers/staff.ts'

/**
 * A signed-in member changes their own password: `/admin/password` (any role) and
 * `PUT /api/admin/me/password` (any token). Each test has an account of its own, so one's change
 * does not touch the next. The log is captured to prove no password reaches it.
 */
let t: TestApp
const app = () => t.app

beforeAll(async () => {
  t = await buildTestApp({}, { logs: true })
})
afterAll(() => t?.close())

const rule = 'The password must be 15 to 1024 characters long.'
const wrongCurrent = 'That is not your current password. Nothing was changed: type it again.'
const sameAsCurrent =
  'The new password is the same as your current one. Nothing was changed: choose a different one.'
/** `password` with a fullwidth ｃ: another string, the same password once normalised (NFKC). */
const passwordFullwidth = `\uff43${password.slice(1)}`
const newPassword = 'a fresh and long enough passphrase'

const get = (url: string, cookie: string) =>
  app().inject({ url, headers: { cookie, accept: 'text/html' } })

/** Posts the change form as a signed-in member (their CSRF token unless `_csrf` is given). */
const change = (
  who: { cookie: string; csrf: string },
  fields: Record<string, string>,
  remoteAddress?: string,
) =>
  app().inject({
    method: 'POST',
    url: '/admin/password',
    headers: { cookie: who.cookie, ...formHeaders },
    payload: form({ _csrf: who.csrf, ...fields }),
    ...(remoteAddress ? { remoteAddress } : {}),
  })

const putMine = (token: string | undefined, body: object) =>
  app().inject({
    method: 'PUT',
    url: '/api/admin/me/password',
    headers: token ? { authorization: `Bearer ${token}` } : {},
    payload: body,
  })

const signsIn = (email: string, pw: string) => signInStatus(app(), email, pw)
const hashOf = (id: number) => passwordHashOf(app(), id)

const sessionCount = async (id: number) =>
  (await app().db.selectFrom('staff_sessions').select('id').where('staff_id', '=', id).execute())
    .length

describe('/admin/password', () => {
  it('is open to every signed-in role (staff too), linked from the home page; anonymous goes to sign-in', async () => {
    for (const method of ['GET', 'POST'] as const) {
      const declared = app().adminRoutes.find(
        (r) => r.url === '/admin/password' && r.methods.includes(method),
      )
      expect(declared?.access, method).toBe('staff')
    }
    await addStaff(app(), 'link@example.com', 'staff')
    const clerk = await signIn(app(), 'link@example.com')
    expect((await get('/admin', clerk.cookie)).body).toContain('href="/admin/password"')
    const page = await get('/admin/password', clerk.cookie)
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain('autocomplete="current-password"')
    expect(page.body).toContain('minlength="15"')
    const anonymous = await app().inject({ url: '/admin/password' })
    expect(anonymous.statusCode).toBe(303)
    expect(anonymous.headers.location).toBe('/admin/login?next=%2Fadmin%2Fpassword')
  })

  it('changes it: the new one signs in, the old does not; other sessions end, this one is renewed, tokens stay', async () => {
    const id = await addStaff(app(), 'ann@example.com', 'staff')
    const token = await addToken(app(), id)
    const here = await signIn(app(), 'ann@example.com')
    const elsewhere = await signIn(app(), 'ann@example.com')
    const res = await change(here, { current: password, password: newPassword, again: newPassword })
    expect(res.statusCode).toBe(303)
    expect(res.headers.location).toBe('/admin/password?done=changed')

    // Renewed, not kept: a new cookie value naming a new session; the old value names none.
    const renewed = cookieHeader(res.headers['set-cookie'], here.cookie)
    expect(renewed).toMatch(/^staff_session=[A-Za-z0-9_-]{43}$/)
    expect(renewed).not.toBe(here.cookie)
    const value = (c: string) => c.split('=')[1] as string
    const rows = await app()
      .db.selectFrom('staff_sessions')
      .select('id')
      .where('staff_id', '=', id)
      .execute()
    expect(rows.map((r) => r.id)).toEqual([digest(value(renewed))])

    const done = await get(res.headers.location as string, renewed)
    expect(done.statusCode).toBe(200)
    expect(done.body).toContain('Your password is changed.')
    // A new CSRF secret with the new session: the old page's token no longer posts.
    expect(csrfOf(done.body)).not.toBe(here.csrf)
    expect((await get('/admin', here.cookie)).statusCode).toBe(303)
    expect((await get('/admin', elsewhere.cookie)).statusCode).toBe(303)
    const me = await app().inject({
      url: '/api/admin/me',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(me.statusCode).toBe(200)

    expect(await signsIn('ann@example.com', password)).toBe(400)
    expect(await signsIn('ann@example.com', newPassword)).toBe(303)
    const line = t.lines().find((l) => l.msg === 'staff password changed')
    expect(line).toMatchObject({ staffId: id })
  })

  it('refuses a wrong current password (400, the form and the reason), changing nothing', async () => {
    const id = await addStaff(app(), 'bob@example.com', 'admin')
    const bob = await signIn(app(), 'bob@example.com')
    const other = await signIn(app(), 'bob@example.com')
    const before = await hashOf(id)
    const res = await change(bob, {
      current: 'not the password at all',
      password: newPassword,
      again: newPassword,
    })
    expect(res.statusCode).toBe(400)
    expect(alertOf(res.body)).toBe(wrongCurrent)
    expect(res.body).toMatch(/id="current"[^>]*aria-invalid="true"/)
    expect(res.body).not.toContain('not the password at all')
    expect(res.body).not.toContain(newPassword)
    expect(res.headers['set-cookie']).toBeUndefined()
    expect(await hashOf(id)).toBe(before)
    expect((await get('/admin', bob.cookie)).statusCode).toBe(200)
    expect((await get('/admin', other.cookie)).statusCode).toBe(200)
    expect(await signsIn('bob@example.com', newPassword)).toBe(400)
    expect(await signsIn('bob@example.com', password)).toBe(303)
  })

  it('refuses a new password equal to the current one, also in another Unicode form (400 at the new one), changing nothing', async () => {
    const id = await addStaff(app(), 'bea@example.com', 'staff')
    const bea = await signIn(app(), 'bea@example.com')
    const other = await signIn(app(), 'bea@example.com')
    const before = await hashOf(id)
    for (const same of [password, passwordFullwidth]) {
      const res = await change(bea, { current: password, password: same, again: same })
      expect(res.statusCode, same).toBe(400)
      expect(alertOf(res.body)).toBe(sameAsCurrent)
      expect(res.body).toMatch(/id="password"[^>]*aria-invalid="true"/)
      expect(res.body).not.toMatch(/id="current"[^>]*aria-invalid="true"/)
      expect(res.body).not.toContain(password.slice(1))
      expect(res.headers['set-cookie']).toBeUndefined()
    }
    // A wrong current password keeps its own answer, even typed again as the new one.
    const typo = 'not the password at all'
    const wrong = await change(bea, { current: typo, password: typo, again: typo })
    expect(wrong.statusCode).toBe(400)
    expect(alertOf(wrong.body)).toBe(wrongCurrent)
    expect(await hashOf(id)).toBe(before)
    expect(await sessionCount(id)).toBe(2)
    expect((await get('/admin', bea.cookie)).statusCode).toBe(200)
    expect((await get('/admin', other.cookie)).statusCode).toBe(200)
  })

  it('refuses a new password that breaks the rule, or typed differently twice, before checking the current one', async () => {
    const id = await addStaff(app(), 'cy@example.com', 'staff')
    const cy = await signIn(app(), 'cy@example.com')
    const before = await hashOf(id)
    const attempts = () => app().db.selectFrom('staff_login_attempts').select('id').execute()
    const counted = (await attempts()).length
    for (const [fields, message, field] of [
      [{ current: password, password: 'too short', again: 'too short' }, rule, 'password'],
      [{ current: password, password: '🔑'.repeat(8), again: '🔑'.repeat(8) }, rule, 'password'],
      [
        { current: password, password: 'x'.repeat(1025), again: 'x'.repeat(1025) },
        rule,
        'password',
      ],
      [
        { current: password, password: newPassword, again: `${newPassword}!` },
        'The two passwords differ.',
        'again',
      ],
    ] as const) {
      const res = await change(cy, fields)
      expect(res.statusCode, fields.password).toBe(400)
      expect(alertOf(res.body)).toBe(message)
      expect(res.body).toMatch(new RegExp(`id="${field}"[^>]*aria-invalid="true"`))
    }
    // A field left out is the same: the form again with the reason.
    const empty = await change(cy, {})
    expect(empty.statusCode).toBe(400)
    expect(alertOf(empty.body)).toBe(rule)
    // No guess was spent: the throttle counted none of these.
    expect((await attempts()).length).toBe(counted)
    expect(await hashOf(id)).toBe(before)
    expect(await sessionCount(id)).toBe(1)
  })

  it('refuses the form without the session’s CSRF token (403), changing nothing', async () => {
    const id = await addStaff(app(), 'dee@example.com', 'staff')
    const dee = await signIn(app(), 'dee@example.com')
    const before = await hashOf(id)
    const fields = { current: password, password: newPassword, again: newPassword }
    for (const _csrf of [undefined, 'wrong']) {
      const res = await app().inject({
        method: 'POST',
        url: '/admin/password',
        headers: { cookie: dee.cookie, ...formHeaders },
        payload: form({ ...(_csrf ? { _csrf } : {}), ...fields }),
      })
      expect(res.statusCode, String(_csrf)).toBe(403)
    }
    expect(await hashOf(id)).toBe(before)
    expect((await get('/admin', dee.cookie)).statusCode).toBe(200)
  })

  it(`counts wrong current passwords with the sign-in's throttle: past ${throttle.perEmail}, 429 with Retry-After, even for the right one`, async () => {
    const id = await addStaff(app(), 'eli@example.com', 'staff')
    const eli = await signIn(app(), 'eli@example.com')
    const before = await hashOf(id)
    const address = '192.0.2.77'
    const fields = { password: newPassword, again: newPassword }
    for (let i = 0; i < throttle.perEmail; i++) {
      const res = await change(eli, { ...fields, current: `wrong guess ${i}` }, address)
      expect(res.statusCode).toBe(400)
    }
    const held = await change(eli, { ...fields, current: password }, address)
    expect(held.statusCode).toBe(429)
    expect(held.headers['retry-after']).toBe(String(throttle.windowSeconds))
    expect(alertOf(held.body)).toBe(
      'Too many password attempts on this account. Please wait 15 minutes and try again.',
    )
    expect(await hashOf(id)).toBe(before)
    // One count for the account: its sign-in form is held too.
    expect(await signsIn('eli@example.com', password)).toBe(429)
    expect((await get('/admin', eli.cookie)).statusCode).toBe(200)
  })
})

describe('PUT /api/admin/me/password', () => {
  it('changes the token holder’s password: 204, every session ends, the tokens keep working', async () => {
    const id = await addStaff(app(), 'fay@example.com', 'staff')
    const token = await addToken(app(), id)
    const other = await addToken(app(), id)
    const session = await signIn(app(), 'fay@example.com')
    const res = await putMine(token, { currentPassword: password, newPassword })
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    expect((await get('/admin', session.cookie)).statusCode).toBe(303)
    expect(await sessionCount(id)).toBe(0)
    for (const k of [token, other]) {
      const me = await app().inject({
        url: '/api/admin/me',
        headers: { authorization: `Bearer ${k}` },
      })
      expect(me.statusCode).toBe(200)
    }
    expect(await signsIn('fay@example.com', password)).toBe(400)
    expect(await signsIn('fay@example.com', newPassword)).toBe(303)
  })

  it('refuses a wrong current password and a new one that breaks the rule (400 problem naming the field), changing nothing', async () => {
    const id = await addStaff(app(), 'gus@example.com', 'admin')
    const token = await addToken(app(), id)
    const session = await signIn(app(), 'gus@example.com')
    const before = await hashOf(id)
    for (const [body, pointer, detail] of [
      [{ currentPassword: 'not it at all', newPassword }, '/currentPassword', wrongCurrent],
      [{ currentPassword: password, newPassword: 'too short' }, '/newPassword', rule],
    ] as const) {
      const res = await putMine(token, body)
      expect(res.statusCode, pointer).toBe(400)
      expect(res.headers['content-type']).toContain('application/problem+json')
      expect(res.json()).toMatchObject({ detail, errors: [{ pointer, detail }] })
    }
    expect((await putMine(token, { newPassword })).statusCode).toBe(400)
    expect(await hashOf(id)).toBe(before)
    expect((await get('/admin', session.cookie)).statusCode).toBe(200)
    expect((await putMine(undefined, { currentPassword: password, newPassword })).statusCode).toBe(
      401,
    )
  })

  it('refuses a new password equal to the current one (400 problem at /newPassword), only once the current one is right, changing nothing', async () => {
    const id = await addStaff(app(), 'hal@example.com', 'staff')
    const token = await addToken(app(), id)
    const session = await signIn(app(), 'hal@example.com')
    const before = await hashOf(id)
    for (const [body, pointer, detail] of [
      [{ currentPassword: password, newPassword: password }, '/newPassword', sameAsCurrent],
      [
        { currentPassword: password, newPassword: passwordFullwidth },
        '/newPassword',
        sameAsCurrent,
      ],
      [
        { currentPassword: 'not it at all either', newPassword: 'not it at all either' },
        '/currentPassword',
        wrongCurrent,
      ],
    ] as const) {
      const res = await putMine(token, body)
      expect(res.statusCode, body.newPassword).toBe(400)
      expect(res.headers['content-type']).toContain('application/problem+json')
      expect(res.json()).toMatchObject({ detail, errors: [{ pointer, detail }] })
    }
    expect(await hashOf(id)).toBe(before)
    expect(await sessionCount(id)).toBe(1)
    expect((await get('/admin', session.cookie)).statusCode).toBe(200)
  })

  it('is in the OpenAPI document with the staffToken scheme, 204, 400 and 429', async () => {
    const spec = (await app().inject('/openapi.json')).json()
    const op = spec.paths['/api/admin/me/password'].put
    expect(op.security).toEqual([{ staffToken: [] }])
    expect(
      Object.keys(op.requestBody.content['application/json'].schema.properties).sort(),
    ).toEqual(['currentPassword', 'newPassword'])
    for (const status of ['204', '400', '401', '429']) expect(op.responses[status]).toBeDefined()
    expect(op.responses['429'].headers['Retry-After']).toBeDefined()
    expect(spec.paths['/admin/password']).toBeUndefined()
  })

  it('logs no password or hash', () => {
    const log = t.output.join('')
    expect(log).toContain('staff password changed')
    for (const secret of [
      password,
      passwordFullwidth,
      newPassword,
      'not it at all',
      'wrong guess',
      '$argon2id$',
    ]) {
      expect(log.includes(secret), secret).toBe(false)
    }
  })
})
