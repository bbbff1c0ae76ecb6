import type { HTTPMethods } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import {
  addStaff,
  addToken,
  alertOf,
  cookieHeader,
  form,
  formHeaders,
  password,
  postSignIn,
  signIn,
} from '../helpers/staff.ts'

/** `/admin/staff` (issue 15): the admin role's staff accounts, server-rendered forms. */
let t: TestApp
const app = () => t.app
let bossId: number
let clerkId: number
let boss: { cookie: string; csrf: string }

beforeAll(async () => {
  t = await buildTestApp({}, { logs: true })
  bossId = await addStaff(app(), 'boss@example.com', 'admin')
  clerkId = await addStaff(app(), 'clerk@example.com', 'staff')
  boss = await signIn(app(), 'boss@example.com')
})
afterAll(() => t?.close())

const get = (url: string, cookie = boss.cookie) =>
  app().inject({ url, headers: { cookie, accept: 'text/html' } })

/** Posts a form as the boss (with the session's CSRF token unless `_csrf` is given). */
const post = (url: string, fields: Record<string, string> = {}, who = boss) =>
  app().inject({
    method: 'POST',
    url,
    headers: { cookie: who.cookie, ...formHeaders },
    payload: form({ _csrf: who.csrf, ...fields }),
  })

/** The ids of a member's tokens, newest first. */
const tokenIds = async (memberId: number) =>
  (
    await app()
      .db.selectFrom('staff_tokens')
      .select('id')
      .where('staff_id', '=', memberId)
      .orderBy('id', 'desc')
      .execute()
  ).map((r) => r.id)

/** The cookies after the last POST of createTokenPage (its one-time value not yet taken). */
let jarAfterPost = ''

/**
 * Creates a token on the member's page as a browser would: the POST's 303 (no token in its
 * Location), then the GET it leads to (unless `visit` is false), which shows the token once.
 */
async function createTokenPage(memberId: number, { visit = true } = {}) {
  const shown = await get(`/admin/staff/${memberId}`)
  const newest = /name="newest" value="(\d+)"/.exec(shown.body)?.[1] as string
  const created = await post(`/admin/staff/${memberId}/tokens`, { newest })
  expect(created.statusCode).toBe(303)
  const location = created.headers.location as string
  expect(location).toBe(`/admin/staff/${memberId}?done=token`)
  jarAfterPost = cookieHeader(created.headers['set-cookie'], boss.cookie)
  if (!visit) return { token: undefined, tokenId: undefined, cookie: jarAfterPost }
  const page = await get(location, jarAfterPost)
  expect(page.statusCode).toBe(200)
  const token = /<code class="new-token">([A-Za-z0-9_-]{43})<\/code>/.exec(page.body)?.[1]
  expect(token).toBeDefined()
  const tokenId = /New token (\d+)\./.exec(page.body)?.[1]
  return { token, tokenId, cookie: cookieHeader(page.headers['set-cookie'], jarAfterPost) }
}

const newPassword = 'a long enough new staff password'

const pageRoutes: [HTTPMethods, string][] = [
  ['GET', '/admin/staff'],
  ['POST', '/admin/staff'],
  ['GET', '/admin/staff/:id'],
  ['POST', '/admin/staff/:id/disable'],
  ['POST', '/admin/staff/:id/enable'],
  ['POST', '/admin/staff/:id/role'],
  ['POST', '/admin/staff/:id/tokens'],
  ['POST', '/admin/staff/:id/tokens/:tokenId/revoke'],
]

describe('/admin/staff', () => {
  it('is admin-only: anonymous requests go to the sign-in, the staff role gets 403', async () => {
    const clerk = await signIn(app(), 'clerk@example.com')
    for (const [method, url] of pageRoutes) {
      const declared = app().adminRoutes.find((r) => r.url === url && r.methods.includes(method))
      expect(declared?.access, `${method} ${url}`).toBe('admin')
      const concrete = url.replace(':id', String(clerkId)).replace(':tokenId', '1')
      const payload = method === 'POST' ? form({ _csrf: clerk.csrf }) : undefined
      const anonymous = await app().inject({ method, url: concrete, headers: formHeaders, payload })
      expect(anonymous.statusCode, url).toBe(303)
      expect(anonymous.headers.location).toMatch(/^\/admin\/login/)
      const asClerk = await app().inject({
        method,
        url: concrete,
        headers: { cookie: clerk.cookie, ...formHeaders },
        payload,
      })
      expect(asClerk.statusCode, url).toBe(403)
    }
  })

  it('refuses every form without the session’s CSRF token (403), changing nothing', async () => {
    const tokens = await app().db.selectFrom('staff_tokens').select('id').execute()
    for (const [method, url] of pageRoutes) {
      if (method !== 'POST') continue
      const concrete = url.replace(':id', String(clerkId)).replace(':tokenId', '1')
      for (const _csrf of [undefined, 'wrong']) {
        const res = await app().inject({
          method,
          url: concrete,
          headers: { cookie: boss.cookie, ...formHeaders },
          payload: form({
            ...(_csrf ? { _csrf } : {}),
            email: 'csrf@example.com',
            role: 'admin',
            password: newPassword,
          }),
        })
        expect(res.statusCode, `${url} ${_csrf}`).toBe(403)
      }
    }
    const clerk = await app()
      .db.selectFrom('staff')
      .selectAll()
      .where('id', '=', clerkId)
      .executeTakeFirstOrThrow()
    expect(clerk).toMatchObject({ role: 'staff', disabled_at: null })
    expect(await app().db.selectFrom('staff_tokens').select('id').execute()).toEqual(tokens)
    const csrfAdded = await app()
      .db.selectFrom('staff')
      .select('id')
      .where('email', '=', 'csrf@example.com')
      .execute()
    expect(csrfAdded).toEqual([])
  })

  it('lists staff with role, status, created, active tokens and last token use', async () => {
    const token = await addToken(app(), clerkId)
    await app().inject({ url: '/api/admin/me', headers: { authorization: `Bearer ${token}` } })
    const res = await get('/admin/staff')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/html')
    const row = new RegExp(`<tr id="staff-${clerkId}"[\\s\\S]*?</tr>`).exec(res.body)?.[0] ?? ''
    expect(row).toContain('clerk@example.com')
    expect(row).toContain(`href="/admin/staff/${clerkId}"`)
    expect(row).toMatch(/<td class="role-cell">staff<\/td>/)
    expect(row).toMatch(/<td class="status-cell">active<\/td>/)
    expect(row).toMatch(/<td class="num tokens-cell">1<\/td>/)
    expect(row).toMatch(/<time datetime="[^"]+Z">/)
    expect(res.body).not.toContain('<script')
    expect(res.body).not.toContain('$argon2id$')
  })

  it('adds a member; a short password re-renders with the message (e-mail kept, password not); a taken e-mail is 409', async () => {
    const short = await post('/admin/staff', {
      email: 'pat@example.com',
      role: 'staff',
      password: 'too short',
    })
    expect(short.statusCode).toBe(400)
    expect(short.body).toContain('The password must be 15 to 1024 characters long.')
    expect(short.body).toContain('value="pat@example.com"')
    expect(short.body).not.toContain('too short')
    const hidden = await post('/admin/staff', {
      email: 'pat\u202e@example.com',
      role: 'staff',
      password: newPassword,
    })
    expect(hidden.statusCode).toBe(400)
    expect(hidden.body).toContain(
      'The e-mail address must not contain control, invisible or formatting characters.',
    )
    // Characters, not UTF-16 units: 8 keys are 8, too few.
    const keys = await post('/admin/staff', {
      email: 'pat@example.com',
      role: 'staff',
      password: '🔑'.repeat(8),
    })
    expect(keys.statusCode).toBe(400)
    expect(keys.body).toContain('The password must be 15 to 1024 characters long.')

    const bad = await post('/admin/staff', { email: 'nope', role: 'staff', password: newPassword })
    expect(bad.statusCode).toBe(400)
    expect(bad.body).not.toContain(newPassword)
    // Said as the order form says it: what is wrong, not only that something is.
    const two = await post('/admin/staff', {
      email: 'pat@@example.com',
      role: 'staff',
      password: newPassword,
    })
    expect(two.body).toContain('Enter an e-mail address with one @, like name@example.com.')
    const spaced = await post('/admin/staff', {
      email: 'pat smith@example.com',
      role: 'staff',
      password: newPassword,
    })
    expect(spaced.body).toContain('Enter an e-mail address without spaces, like name@example.com.')

    const added = await post('/admin/staff', {
      email: 'pat@example.com',
      role: 'admin',
      password: newPassword,
    })
    expect(added.statusCode).toBe(303)
    expect(added.headers.location).toMatch(/^\/admin\/staff\/\d+\?done=added$/)
    const page = await get(added.headers.location as string)
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain('pat@example.com')
    expect(alertOf(page.body) ?? page.body).not.toBeUndefined()
    expect(
      (await postSignIn(app(), { email: 'pat@example.com', password: newPassword })).statusCode,
    ).toBe(303)

    const taken = await post('/admin/staff', {
      email: 'PAT@example.com',
      role: 'staff',
      password: newPassword,
    })
    expect(taken.statusCode).toBe(409)
    // The account as stored, not as typed.
    expect(taken.body).toContain('A staff account with the e-mail pat@example.com exists.')
  })

  it('disables a member: their session and token stop on their next request; enable lets them sign in again', async () => {
    const id = await addStaff(app(), 'dana@example.com', 'staff')
    const token = await addToken(app(), id)
    const dana = await signIn(app(), 'dana@example.com')
    const disabled = await post(`/admin/staff/${id}/disable`)
    expect(disabled.statusCode).toBe(303)
    expect(disabled.headers.location).toBe(`/admin/staff/${id}?done=disabled`)
    expect((await get('/admin', dana.cookie)).statusCode).toBe(303)
    const me = await app().inject({
      url: '/api/admin/me',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(me.statusCode).toBe(401)
    expect((await get(`/admin/staff/${id}`)).body).toMatch(/disabled/)
    expect((await postSignIn(app(), { email: 'dana@example.com', password })).statusCode).toBe(400)

    expect((await post(`/admin/staff/${id}/enable`)).statusCode).toBe(303)
    expect((await postSignIn(app(), { email: 'dana@example.com', password })).statusCode).toBe(303)
  })

  it('changes a role', async () => {
    const id = await addStaff(app(), 'eve@example.com', 'staff')
    const eve = await signIn(app(), 'eve@example.com')
    expect((await get('/admin/staff', eve.cookie)).statusCode).toBe(403)
    const res = await post(`/admin/staff/${id}/role`, { role: 'admin' })
    expect(res.statusCode).toBe(303)
    expect((await get('/admin/staff', eve.cookie)).statusCode).toBe(200)
    expect((await post(`/admin/staff/${id}/role`, { role: 'root' })).statusCode).toBe(400)
    expect((await post(`/admin/staff/${id}/role`, { role: 'staff' })).statusCode).toBe(303)
    expect((await get('/admin/staff', eve.cookie)).statusCode).toBe(403)
  })

  it('refuses an admin demoting or disabling themself (409 with the page and the reason)', async () => {
    for (const [url, fields] of [
      [`/admin/staff/${bossId}/role`, { role: 'staff' }],
      [`/admin/staff/${bossId}/disable`, {}],
    ] as const) {
      const res = await post(url, fields)
      expect(res.statusCode, url).toBe(409)
      expect(res.body).toMatch(
        /You cannot demote or disable your own account: ask another admin\.|boss@example\.com is the last enabled admin: make another admin first\./,
      )
    }
    const row = await app()
      .db.selectFrom('staff')
      .select(['role', 'disabled_at'])
      .where('id', '=', bossId)
      .executeTakeFirstOrThrow()
    expect(row).toEqual({ role: 'admin', disabled_at: null })
    expect((await get('/admin', boss.cookie)).statusCode).toBe(200)
  })

  it('creates a token shown once on the result page; revokes one with its button', async () => {
    const { token } = await createTokenPage(clerkId)
    const me = () =>
      app().inject({ url: '/api/admin/me', headers: { authorization: `Bearer ${token}` } })
    expect((await me()).statusCode).toBe(200)
    const other = await addToken(app(), clerkId)

    const page = await get(`/admin/staff/${clerkId}`)
    expect(page.body).not.toContain(token)
    const tokenId = await app()
      .db.selectFrom('staff_tokens')
      .select('id')
      .where('staff_id', '=', clerkId)
      .orderBy('id', 'desc')
      .offset(1)
      .executeTakeFirstOrThrow()
    expect(page.body).toContain(`action="/admin/staff/${clerkId}/tokens/${tokenId.id}/revoke"`)

    const revoked = await post(`/admin/staff/${clerkId}/tokens/${tokenId.id}/revoke`)
    expect(revoked.statusCode).toBe(303)
    expect((await me()).statusCode).toBe(401)
    const otherMe = await app().inject({
      url: '/api/admin/me',
      headers: { authorization: `Bearer ${other}` },
    })
    expect(otherMe.statusCode).toBe(200)
    const after = await get(`/admin/staff/${clerkId}`)
    const row = new RegExp(`<tr id="token-${tokenId.id}"[\\s\\S]*?</tr>`).exec(after.body)?.[0]
    expect(row).toMatch(/<time datetime="[^"]+Z">/)
    expect(row).not.toContain('Revoke</button>')
    expect((await post(`/admin/staff/${bossId}/tokens/${tokenId.id}/revoke`)).statusCode).toBe(404)
    expect((await get('/admin/staff/999999')).statusCode).toBe(404)
  })

  it('creates a token by POST, then 303 to the page that shows it once: a reload makes no other', async () => {
    const count = async () => (await tokenIds(clerkId)).length
    const before = await count()
    const { token, tokenId, cookie } = await createTokenPage(clerkId)
    expect(await count()).toBe(before + 1)
    // A reload (the page is a GET, so the browser re-requests it, never the POST) shows the
    // token no more and makes none.
    const reloaded = await get(`/admin/staff/${clerkId}?done=token`, cookie)
    expect(reloaded.statusCode).toBe(200)
    expect(reloaded.body).not.toContain(token)
    expect(reloaded.body).toContain('was shown once')
    expect(await count()).toBe(before + 1)
    // The one-time value is bound to its account and token: another member's page, or a
    // value that is not that token's, shows nothing.
    await createTokenPage(clerkId, { visit: false })
    const elsewhere = await get(`/admin/staff/${bossId}?done=token`, jarAfterPost)
    expect(elsewhere.body).not.toMatch(/class="new-token"/)
    expect(elsewhere.headers['set-cookie']).toBeUndefined()
    const forged = `${boss.cookie}; staff_new_token=${tokenId}.${'x'.repeat(43)}`
    expect((await get(`/admin/staff/${clerkId}?done=token`, forged)).body).not.toMatch(
      /class="new-token"/,
    )
  })

  it('makes one token for two submits of the same "Create token" form (a double click), and says so', async () => {
    const tokens = () => tokenIds(clerkId)
    const before = await tokens()
    const shown = await get(`/admin/staff/${clerkId}`)
    const newest = /name="newest" value="(\d+)"/.exec(shown.body)?.[1] as string
    expect(newest).toBe(String(before[0] ?? 0))
    const first = await post(`/admin/staff/${clerkId}/tokens`, { newest })
    expect(first.statusCode).toBe(303)
    const second = await app().inject({
      method: 'POST',
      url: `/admin/staff/${clerkId}/tokens`,
      headers: { ...formHeaders, accept: 'text/html', cookie: boss.cookie },
      payload: form({ _csrf: boss.csrf, newest }),
    })
    expect(second.statusCode).toBe(409)
    expect(second.body).toContain('nothing was made')
    const after = await tokens()
    expect(after).toHaveLength(before.length + 1)
    expect(second.body).toContain(`token ${after[0]}`)
    const damaged = await post(`/admin/staff/${clerkId}/tokens`, { newest: 'x' })
    expect(damaged.statusCode).toBe(400)
    expect(await tokens()).toEqual(after)
  })

  it('a second tab’s "Create token" after the first’s: 409 saying what is known, not that it was sent', async () => {
    const newestOf = (body: string) => /name="newest" value="(\d+)"/.exec(body)?.[1] as string
    const tabA = newestOf((await get(`/admin/staff/${clerkId}`)).body)
    const tabB = newestOf((await get(`/admin/staff/${clerkId}`)).body)
    expect((await post(`/admin/staff/${clerkId}/tokens`, { newest: tabA })).statusCode).toBe(303)
    const b = await post(`/admin/staff/${clerkId}/tokens`, { newest: tabB })
    expect(b.statusCode).toBe(409)
    const [made] = await tokenIds(clerkId)
    // Tab B was never sent before: the page must not say that it was, nor that it made the token.
    expect(b.body).not.toContain('The first submit made')
    expect(b.body).toContain(
      `This form was already sent, or a token was made for this account since the page was shown (from another tab, the API or npm run staff -- token): nothing was made now. The newest token is now token ${made};`,
    )
    // The refusal's own form makes one more.
    expect(newestOf(b.body)).toBe(String(made))
  })

  it('is linked from the back-office home for admins only', async () => {
    expect((await get('/admin')).body).toContain('href="/admin/staff"')
    const clerk = await signIn(app(), 'clerk@example.com')
    expect((await get('/admin', clerk.cookie)).body).not.toContain('href="/admin/staff"')
  })

  it('logs no password, hash or e-mail', async () => {
    const log = t.output.join('')
    expect(log).toContain('staff account added')
    for (const secret of [password, newPassword, 'too short', '$argon2id$', '@example.com']) {
      expect(log.includes(secret), secret).toBe(false)
    }
  })
})
