import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken, form, formHeaders, password, signIn } from '../helpers/staff.ts'

// NIST SP 800-63B's context-specific words include the service's name: for a shop, its own
// name and domain, which its staff are tempted to build a password on. Every way a password is
// set reads them from the settings (shopWords): MAIL_FROM and PUBLIC_BASE_URL here.
let t: TestApp
let bossToken: string
let clerkId: number
const refused =
  'That password is too easy to guess: it is built on the shop’s or the service’s name.'
const weak = 'summitgear2026!!x'

beforeAll(async () => {
  t = await buildTestApp({
    PUBLIC_BASE_URL: 'https://shop.summitgear.example',
    MAIL_FROM: 'Acme Outfitters <orders@acme-outfitters.example>',
  })
  bossToken = await addToken(t.app, await addStaff(t.app, 'admin@sw.test', 'admin'))
  clerkId = await addStaff(t.app, 'clerk@sw.test')
})
afterAll(() => t?.close())

const api = (method: 'POST' | 'PUT', url: string, payload: object, token = bossToken) =>
  t.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, payload })

describe('a staff password built on the shop’s own words', () => {
  it('is refused when an account is added, reset or changed, in the API and on the pages', async () => {
    const added = await api('POST', '/api/admin/staff', {
      email: 'new@sw.test',
      role: 'staff',
      password: weak,
    })
    expect(added.statusCode).toBe(400)
    expect(added.json().errors[0]).toMatchObject({ pointer: '/password', detail: refused })
    const reset = await api('PUT', `/api/admin/staff/${clerkId}/password`, {
      password: 'AcmeOutfitters2026!',
    })
    expect(reset.statusCode).toBe(400)
    expect(reset.json().errors[0]).toMatchObject({ detail: refused })
    const own = await api(
      'PUT',
      '/api/admin/me/password',
      { currentPassword: password, newPassword: 'TrailheadGoods2026' },
      await addToken(t.app, clerkId),
    )
    expect(own.statusCode).toBe(400)
    expect(own.json().errors[0]).toMatchObject({ pointer: '/newPassword', detail: refused })
    const boss = await signIn(t.app, 'admin@sw.test')
    const page = await t.app.inject({
      method: 'POST',
      url: '/admin/staff',
      headers: { cookie: boss.cookie, ...formHeaders },
      payload: form({ _csrf: boss.csrf, email: 'page@sw.test', role: 'staff', password: weak }),
    })
    expect(page.statusCode).toBe(400)
    expect(page.body).toContain('it is built on the shop’s or the service’s name')
    const emails = (await t.app.db.selectFrom('staff').select('email').execute()).map(
      (r) => r.email,
    )
    expect(emails.sort()).toEqual(['admin@sw.test', 'clerk@sw.test'])
  })
})
