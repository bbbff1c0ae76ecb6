import type { HTTPMethods } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken, password, postSignIn, signIn } from '../helpers/staff.ts'

/**
 * `/api/admin/staff` (issue 15, the admin role's staff accounts): admins only, by bearer token.
 * The log is captured (info and up) to prove that no password, hash or token reaches it.
 */
let t: TestApp
const app = () => t.app
let bossId: number
let clerkId: number
let bossToken: string
let clerkToken: string
/** Every response body of this file, to look for secrets in at the end. */
const bodies: string[] = []

beforeAll(async () => {
  t = await buildTestApp({}, { logs: true })
  bossId = await addStaff(app(), 'boss@example.com', 'admin')
  clerkId = await addStaff(app(), 'clerk@example.com', 'staff')
  bossToken = await addToken(app(), bossId)
  clerkToken = await addToken(app(), clerkId)
})
afterAll(() => t?.close())

async function call(method: HTTPMethods, url: string, token: string | undefined, body?: object) {
  const res = await app().inject({
    method,
    url,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(body ? { payload: body } : {}),
  })
  bodies.push(res.body)
  return res
}
const asBoss = (method: HTTPMethods, url: string, body?: object) =>
  call(method, url, bossToken, body)

const newPassword = 'a long enough new staff password'

const routes: [HTTPMethods, string][] = [
  ['GET', '/api/admin/staff'],
  ['POST', '/api/admin/staff'],
  ['GET', '/api/admin/staff/:id'],
  ['PATCH', '/api/admin/staff/:id'],
  ['POST', '/api/admin/staff/:id/tokens'],
  ['DELETE', '/api/admin/staff/:id/tokens/:tokenId'],
]

describe('/api/admin/staff', () => {
  it('is registered, admin-only, refused anonymously (401) and to the staff role (403)', async () => {
    for (const [method, url] of routes) {
      const declared = app().adminRoutes.find((r) => r.url === url && r.methods.includes(method))
      expect(declared?.access, `${method} ${url}`).toBe('admin')
      const concrete = url.replace(':id', String(bossId)).replace(':tokenId', '1')
      const body = method === 'POST' || method === 'PATCH' ? {} : undefined
      expect((await call(method, concrete, undefined, body)).statusCode, url).toBe(401)
      expect((await call(method, concrete, clerkToken, body)).statusCode, url).toBe(403)
    }
  })

  it('lists staff: e-mail, role, disabled, created, active tokens, last token use', async () => {
    await call('GET', '/api/admin/me', clerkToken) // uses the clerk's token
    const res = await asBoss('GET', '/api/admin/staff')
    expect(res.statusCode).toBe(200)
    const list = res.json()
    const clerk = list.find((m: { id: number }) => m.id === clerkId)
    expect(clerk).toMatchObject({
      id: clerkId,
      email: 'clerk@example.com',
      role: 'staff',
      disabled: false,
      activeTokens: 1,
    })
    expect(Date.parse(clerk.createdAt)).toBeGreaterThan(Date.now() - 600_000)
    expect(Date.parse(clerk.lastTokenUsedAt)).toBeGreaterThan(Date.now() - 600_000)
    expect(Object.keys(clerk).sort()).toEqual(
      [
        'activeTokens',
        'createdAt',
        'disabled',
        'disabledAt',
        'email',
        'id',
        'lastTokenUsedAt',
        'role',
      ].sort(),
    )
  })

  it('counts a password in characters (code points), not UTF-16 units, and signs in with it', async () => {
    const add = (email: string, pw: string) =>
      asBoss('POST', '/api/admin/staff', { email, role: 'staff', password: pw })
    // 8 keys are 16 UTF-16 units: 8 characters, too few.
    const eight = await add('keys8@example.com', '🔑'.repeat(8))
    expect(eight.statusCode).toBe(400)
    expect(eight.json().message).toBe('The password must be 15 to 1024 characters long.')
    expect((await add('keys1025@example.com', '🔑'.repeat(1025))).statusCode).toBe(400)
    // 15 spaces are long enough and still no password: refused, nothing stored.
    const blank = await add('spaces@example.com', ' '.repeat(15))
    expect(blank.statusCode).toBe(400)
    expect(blank.json().message).toMatch(/^That password is too easy to guess/)
    const spaces = await app().db.selectFrom('staff').where('email', '=', 'spaces@example.com')
    expect(await spaces.select('id').execute()).toEqual([])
    // Astral characters, none repeating in a short cycle (a repeated 🔑 is refused as guessable).
    const astral = (n: number) =>
      Array.from({ length: n }, (_, i) => String.fromCodePoint(0x1f300 + ((i * 7) % 0x300))).join(
        '',
      )
    for (const [email, pw] of [
      ['keys15@example.com', astral(15)],
      ['keys1024@example.com', astral(1024)],
    ] as const) {
      expect((await add(email, pw)).statusCode).toBe(201)
      expect((await postSignIn(app(), { email, password: pw })).statusCode).toBe(303)
    }
  })

  it('holds the e-mail to the text rule: 400 naming it, nothing stored', async () => {
    for (const email of ['a\u202e@example.com', 'a\u0001b@example.com', 'sur\ud800@example.com']) {
      const res = await asBoss('POST', '/api/admin/staff', {
        email,
        role: 'staff',
        password: newPassword,
      })
      expect(res.statusCode, JSON.stringify(email)).toBe(400)
      expect(res.json().errors).toEqual([{ pointer: '/email', detail: expect.any(String) }])
    }
    const stored = await app().db.selectFrom('staff').select('email').execute()
    const refused = ['a\u202e@example.com', 'a\u0001b@example.com', 'sur\ufffd@example.com']
    expect(stored.filter((s) => refused.includes(s.email))).toEqual([])
  })

  it('adds a member (201) under the CLI password rule; a taken e-mail is 409, bad fields 400', async () => {
    const res = await asBoss('POST', '/api/admin/staff', {
      email: ' Pat@Example.com ',
      role: 'staff',
      password: newPassword,
    })
    expect(res.statusCode).toBe(201)
    expect(res.json()).toMatchObject({ email: 'Pat@Example.com', role: 'staff', disabled: false })
    expect(res.headers.location).toBe(`/api/admin/staff/${res.json().id}`)
    expect(
      (await postSignIn(app(), { email: 'pat@example.com', password: newPassword })).statusCode,
    ).toBe(303)

    const taken = await asBoss('POST', '/api/admin/staff', {
      email: 'PAT@example.com',
      role: 'admin',
      password: newPassword,
    })
    expect(taken.statusCode).toBe(409)
    // The account as stored, not as typed.
    expect(taken.json().message).toBe('A staff account with the e-mail Pat@Example.com exists.')
    const short = await asBoss('POST', '/api/admin/staff', {
      email: 'sam@example.com',
      role: 'staff',
      password: 'too short',
    })
    expect(short.statusCode).toBe(400)
    expect(short.json().message).toBe('The password must be 15 to 1024 characters long.')
    for (const body of [
      { email: 'not-an-address', role: 'staff', password: newPassword },
      { email: 'sam@example.com', role: 'root', password: newPassword },
      { email: 'sam@example.com', role: 'staff', password: newPassword, extra: 1 },
    ]) {
      expect((await asBoss('POST', '/api/admin/staff', body)).statusCode).toBe(400)
    }
    const sam = await app()
      .db.selectFrom('staff')
      .select('id')
      .where('email', '=', 'sam@example.com')
    expect(await sam.execute()).toEqual([])
  })

  it('shows a member with their tokens, creates a token shown once, never a value or hash', async () => {
    const created = await asBoss('POST', `/api/admin/staff/${clerkId}/tokens`)
    expect(created.statusCode).toBe(201)
    const { id, token } = created.json()
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect((await call('GET', '/api/admin/me', token)).statusCode).toBe(200)

    const one = await asBoss('GET', `/api/admin/staff/${clerkId}`)
    expect(one.statusCode).toBe(200)
    const member = one.json()
    expect(member).toMatchObject({ id: clerkId, email: 'clerk@example.com', activeTokens: 2 })
    expect(member.tokens.map((k: { id: number }) => k.id)).toContain(id)
    const shown = member.tokens.find((k: { id: number }) => k.id === id)
    expect(Object.keys(shown).sort()).toEqual(['createdAt', 'id', 'lastUsedAt', 'revokedAt'])
    expect(shown.revokedAt).toBeNull()
    for (const later of [one.body, (await asBoss('GET', '/api/admin/staff')).body]) {
      expect(later).not.toContain(token)
      expect(later).not.toMatch(/[0-9a-f]{64}/) // no SHA-256 of a token
      expect(later).not.toContain('$argon2id$')
      expect(later).not.toMatch(/hash/i)
    }
    expect((await asBoss('GET', '/api/admin/staff/999999')).statusCode).toBe(404)
    expect((await asBoss('GET', '/api/admin/staff/x')).statusCode).toBe(400)
    expect((await asBoss('POST', '/api/admin/staff/999999/tokens')).statusCode).toBe(404)
  })

  it('revokes one token: it gets 401 on its next request, the member’s other tokens still work', async () => {
    const first = await addToken(app(), clerkId)
    const second = (await asBoss('POST', `/api/admin/staff/${clerkId}/tokens`)).json()
    expect((await call('GET', '/api/admin/me', second.token)).statusCode).toBe(200)

    const revoked = await asBoss('DELETE', `/api/admin/staff/${clerkId}/tokens/${second.id}`)
    expect(revoked.statusCode).toBe(200)
    expect(revoked.json()).toMatchObject({ id: second.id })
    expect(Date.parse(revoked.json().revokedAt)).toBeGreaterThan(Date.now() - 600_000)

    const me = await call('GET', '/api/admin/me', second.token)
    expect(me.statusCode).toBe(401)
    expect(me.headers['www-authenticate']).toContain('invalid_token')
    expect((await call('GET', '/api/admin/me', first)).statusCode).toBe(200)
    expect((await call('GET', '/api/admin/me', clerkToken)).statusCode).toBe(200)

    // Again: the same answer, the first revocation's time kept.
    const again = await asBoss('DELETE', `/api/admin/staff/${clerkId}/tokens/${second.id}`)
    expect(again.statusCode).toBe(200)
    expect(again.json().revokedAt).toBe(revoked.json().revokedAt)
    // Another member's token, or one that does not exist: 404, nothing revoked.
    const bossTokenId = (await asBoss('GET', `/api/admin/staff/${bossId}`)).json().tokens[0].id
    expect(
      (await asBoss('DELETE', `/api/admin/staff/${clerkId}/tokens/${bossTokenId}`)).statusCode,
    ).toBe(404)
    expect((await asBoss('DELETE', `/api/admin/staff/${clerkId}/tokens/999999`)).statusCode).toBe(
      404,
    )
    expect((await call('GET', '/api/admin/me', bossToken)).statusCode).toBe(200)
  })

  it('disables a member: their session and token stop on the next request; enabling again does not revive tokens', async () => {
    const id = await addStaff(app(), 'dana@example.com', 'staff')
    const token = await addToken(app(), id)
    const { cookie } = await signIn(app(), 'dana@example.com')
    expect((await app().inject({ url: '/admin', headers: { cookie } })).statusCode).toBe(200)

    const res = await asBoss('PATCH', `/api/admin/staff/${id}`, { disabled: true })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ id, disabled: true, activeTokens: 0 })
    expect((await app().inject({ url: '/admin', headers: { cookie } })).statusCode).toBe(303)
    expect((await call('GET', '/api/admin/me', token)).statusCode).toBe(401)
    expect((await postSignIn(app(), { email: 'dana@example.com', password })).statusCode).toBe(400)
    expect((await asBoss('POST', `/api/admin/staff/${id}/tokens`)).statusCode).toBe(409)

    const enabled = await asBoss('PATCH', `/api/admin/staff/${id}`, { disabled: false })
    expect(enabled.json()).toMatchObject({ disabled: false, disabledAt: null })
    expect((await postSignIn(app(), { email: 'dana@example.com', password })).statusCode).toBe(303)
    expect((await call('GET', '/api/admin/me', token)).statusCode).toBe(401)
    expect((await app().inject({ url: '/admin', headers: { cookie } })).statusCode).toBe(303)
  })

  it('changes a role, effective on the member’s next request', async () => {
    const id = await addStaff(app(), 'eve@example.com', 'staff')
    const token = await addToken(app(), id)
    expect((await call('GET', '/api/admin/staff', token)).statusCode).toBe(403)
    const up = await asBoss('PATCH', `/api/admin/staff/${id}`, { role: 'admin' })
    expect(up.statusCode).toBe(200)
    expect(up.json().role).toBe('admin')
    expect((await call('GET', '/api/admin/staff', token)).statusCode).toBe(200)
    const down = await asBoss('PATCH', `/api/admin/staff/${id}`, { role: 'staff' })
    expect(down.json().role).toBe('staff')
    expect((await call('GET', '/api/admin/staff', token)).statusCode).toBe(403)
    for (const body of [{}, { role: 'root' }, { disabled: 'yes' }, { role: 'staff', email: 'x' }]) {
      expect((await asBoss('PATCH', `/api/admin/staff/${id}`, body)).statusCode).toBe(400)
    }
    expect((await asBoss('PATCH', '/api/admin/staff/999999', { role: 'staff' })).statusCode).toBe(
      404,
    )
  })

  it('refuses an admin demoting or disabling themself, and the last enabled admin (409)', async () => {
    // boss is the only enabled admin.
    for (const body of [{ role: 'staff' }, { disabled: true }]) {
      const res = await asBoss('PATCH', `/api/admin/staff/${bossId}`, body)
      expect(res.statusCode).toBe(409)
      expect(res.json().message).toBe(
        'boss@example.com is the last enabled admin: make another admin first.',
      )
    }
    const otherId = await addStaff(app(), 'other-admin@example.com', 'admin')
    for (const body of [{ role: 'staff' }, { disabled: true }]) {
      const res = await asBoss('PATCH', `/api/admin/staff/${bossId}`, body)
      expect(res.statusCode).toBe(409)
      expect(res.json().message).toBe(
        'You cannot demote or disable your own account: ask another admin.',
      )
    }
    // A no-op on oneself is allowed.
    expect(
      (await asBoss('PATCH', `/api/admin/staff/${bossId}`, { role: 'admin' })).statusCode,
    ).toBe(200)
    const boss = await app()
      .db.selectFrom('staff')
      .select(['role', 'disabled_at'])
      .where('id', '=', bossId)
      .executeTakeFirstOrThrow()
    expect(boss).toEqual({ role: 'admin', disabled_at: null })

    // Two admins disabling each other at the same moment: one wins, an admin always remains.
    const otherToken = await addToken(app(), otherId)
    const [a, b] = await Promise.all([
      asBoss('PATCH', `/api/admin/staff/${otherId}`, { disabled: true }),
      call('PATCH', `/api/admin/staff/${bossId}`, otherToken, { disabled: true }),
    ])
    const statuses = [a.statusCode, b.statusCode].sort()
    expect(statuses[1], `${a.body} ${b.body}`).not.toBe(200)
    expect(statuses[0]).toBe(200)
    const enabledAdmins = await app()
      .db.selectFrom('staff')
      .select('id')
      .where('role', '=', 'admin')
      .where('disabled_at', 'is', null)
      .execute()
    expect(enabledAdmins).toHaveLength(1)
    // Leave boss enabled for what follows.
    if (enabledAdmins[0]?.id !== bossId) {
      await app()
        .db.updateTable('staff')
        .set({ disabled_at: null })
        .where('id', '=', bossId)
        .execute()
      bossToken = await addToken(app(), bossId)
    }
  })

  it('describes the routes in the OpenAPI document with the staffToken scheme', async () => {
    const spec = (await app().inject('/openapi.json')).json()
    const paths = {
      '/api/admin/staff': ['get', 'post'],
      '/api/admin/staff/{id}': ['get', 'patch'],
      '/api/admin/staff/{id}/tokens': ['post'],
      '/api/admin/staff/{id}/tokens/{tokenId}': ['delete'],
    }
    for (const [path, methods] of Object.entries(paths)) {
      for (const method of methods) {
        expect(spec.paths[path]?.[method]?.security, `${method} ${path}`).toEqual([
          { staffToken: [] },
        ])
      }
    }
  })

  it('puts no password, password hash, token or token hash in any response or log line', async () => {
    const hashes = await app().db.selectFrom('staff').select('password_hash').execute()
    const tokenHashes = await app().db.selectFrom('staff_tokens').select('token_hash').execute()
    const log = t.output.join('')
    expect(log).toContain('staff account added') // the log was captured
    const everything = bodies.join('\n')
    for (const secret of [
      password,
      newPassword,
      bossToken,
      clerkToken,
      ...hashes.map((h) => h.password_hash),
      ...tokenHashes.map((h) => h.token_hash),
    ]) {
      expect(log.includes(secret), secret).toBe(false)
      expect(everything.includes(secret), secret).toBe(false)
    }
    expect(log).not.toContain('$argon2id$')
    expect(log).not.toContain('@example.com')
  })
})
