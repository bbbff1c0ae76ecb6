import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { parseStaffArgs } from '../../src/staff/cli-args.ts'
import { hashPassword, passwordProblem } from '../../src/staff/passwords.ts'
import { insertStaff } from '../../src/staff/queries.ts'
import { escapeHtml } from '../../src/text.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import {
  addStaff,
  addToken,
  form,
  formHeaders,
  password,
  passwordHashOf,
  signIn,
  signInStatus,
} from '../helpers/staff.ts'

/**
 * The rules a newcomer's review found missing on the staff accounts (src/staff/): a new
 * account's e-mail is ASCII as a shopper's is (no lookalike of another account), a new password
 * holds no control character, the "Create token" form needs its `newest` field, a token's 404
 * is one sentence, and a member form with a field given twice gets the member's page. Accounts
 * made before these rules keep signing in and being managed.
 */
let t: TestApp
const app = () => t.app
let bossToken: string
let boss: { cookie: string; csrf: string }
let clerkId: number

beforeAll(async () => {
  t = await buildTestApp()
  bossToken = await addToken(app(), await addStaff(app(), 'admin@rv.test', 'admin'))
  boss = await signIn(app(), 'admin@rv.test')
  clerkId = await addStaff(app(), 'clerk@rv.test')
})
afterAll(() => t?.close())

const api = (method: 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, token = bossToken) =>
  app().inject({ method, url, headers: { authorization: `Bearer ${token}` }, payload })

/** Posts a page form as the boss (`payload`: a urlencoded body, `_csrf` added first). */
const post = (url: string, payload: string, who = boss) =>
  app().inject({
    method: 'POST',
    url,
    headers: { cookie: who.cookie, ...formHeaders },
    payload: `${form({ _csrf: who.csrf })}&${payload}`,
  })

const emailsLike = async (domain: string) =>
  (await app().db.selectFrom('staff').select('email').execute())
    .map((r) => r.email)
    .filter((e) => e.endsWith(domain))

const fullwidth = '\uff41dmin@rv.test' // ａdmin: FULLWIDTH LATIN SMALL LETTER A
const cyrillic = '\u0430dmin@rv.test' // аdmin: CYRILLIC SMALL LETTER A
// Named, since it looks like an ASCII a.
const localNotAscii = (email: string) =>
  `Enter an e-mail address with only ASCII characters before the @: ${email[0]} (U+${(email.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}) is not.`

describe('a new staff account’s e-mail', () => {
  it('is ASCII, as a shopper’s: the API, the page and ADMIN_EMAIL refuse a lookalike', async () => {
    for (const email of [fullwidth, cyrillic]) {
      const res = await api('POST', '/api/admin/staff', { email, role: 'admin', password })
      expect(res.statusCode, email).toBe(400)
      expect(res.json().errors).toEqual([{ pointer: '/email', detail: localNotAscii(email) }])
      const page = await post('/admin/staff', form({ email, role: 'admin', password }))
      expect(page.statusCode, email).toBe(400)
      expect(page.body).toContain(localNotAscii(email))
      expect(() => loadConfig({ ADMIN_EMAIL: email, ADMIN_PASSWORD: password })).toThrow(
        'Invalid configuration: ADMIN_EMAIL must have only ASCII characters before the @',
      )
    }
    // A domain in another script: its xn-- form, as the order form suggests.
    const idn = await api('POST', '/api/admin/staff', {
      email: 'ada@b\u00fccher.example',
      role: 'staff',
      password,
    })
    expect(idn.json().message).toBe(
      'Enter the domain in its ASCII form: xn--bcher-kva.example for b\u00fccher.example.',
    )
    expect(() =>
      loadConfig({ ADMIN_EMAIL: 'ada@b\u00fccher.example', ADMIN_PASSWORD: password }),
    ).toThrow('ADMIN_EMAIL must have its domain in ASCII: write b\u00fccher.example as xn--')
    expect(await emailsLike('@rv.test')).toEqual(['admin@rv.test', 'clerk@rv.test'])
    expect(await emailsLike('.example')).toEqual([])
  })

  it('stays unique in any case (409 naming the account as stored)', async () => {
    const res = await api('POST', '/api/admin/staff', {
      email: 'ADMIN@rv.test',
      role: 'admin',
      password,
    })
    expect(res.statusCode).toBe(409)
    expect(res.json().message).toBe('A staff account with the e-mail admin@rv.test exists.')
  })

  it('leaves an account added before the rule signing in and managed by its e-mail as stored', async () => {
    const id = await addStaff(app(), cyrillic)
    expect(await signInStatus(app(), cyrillic, password)).toBe(303)
    const newPassword = 'a new password for the old account'
    const set = await api('PUT', `/api/admin/staff/${id}/password`, { password: newPassword })
    expect(set.statusCode).toBe(204)
    const disabled = await post(`/admin/staff/${id}/disable`, '')
    expect(disabled.statusCode).toBe(303)
    expect(await signInStatus(app(), cyrillic, newPassword)).toBe(400)
    expect((await post(`/admin/staff/${id}/enable`, '')).statusCode).toBe(303)
    expect(await signInStatus(app(), cyrillic, newPassword)).toBe(303)
    // The real admin's address is not the old account's.
    expect(await signInStatus(app(), 'admin@rv.test', newPassword)).toBe(400)
  })
})

describe('a new staff account’s e-mail, against the order’s', () => {
  // What the order's customer.email refuses (ajv-formats' email format) but the staff rule once
  // took (a reviewer's list): no domain dot, empty or hyphen labels, dots at the ends, and
  // characters an address needs quotes for.
  const chars = "letters, digits, dots and ! # $ % & ' * + - / = ? ^ _ ` { | } ~"
  const noDot = 'whose domain has a dot, like name@example.com'
  const domainDots =
    'whose domain neither starts nor ends with a dot, nor has two in a row, like name@example.com'
  const only = (c: string) => `with only ${chars} before the @: ${c} is not one`
  // Each with the form's sentence after "Enter an e-mail address ".
  const refused: [string, string][] = [
    ['x@y', noDot],
    ['x@example..com', domainDots],
    ['x@.example.com', domainDots],
    [
      '.x@example.com',
      'whose part before the @ neither starts nor ends with a dot, nor has two in a row',
    ],
    [
      'x@-.com',
      'whose domain has only letters, digits and hyphens between its dots, a hyphen never first or last: - is not',
    ],
    ['(x)@example.com', only('(')],
    ['a,b@example.com', only(',')],
    ['a;b@example.com', only(';')],
    ['[x]@example.com', only('[')],
    ['"q"@example.com', only('"')],
    ['<b>x</b>@example.com', only('<')],
  ]
  const order = (email: string) =>
    app().inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': `rules-${email}` },
      payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer: { ...customer, email } },
    })

  it('is refused where the order refuses it, saying why: API, page, `add` and ADMIN_EMAIL', async () => {
    for (const [email, why] of refused) {
      const message = `Enter an e-mail address ${why}.`
      const shop = await order(email)
      expect(shop.statusCode, email).toBe(400)
      expect(shop.json().message, email).toMatch(/^customer\.email must /)
      const res = await api('POST', '/api/admin/staff', { email, role: 'staff', password })
      expect(res.statusCode, email).toBe(400)
      expect(res.json().errors, email).toEqual([{ pointer: '/email', detail: message }])
      const page = await post('/admin/staff', form({ email, role: 'staff', password }))
      expect(page.statusCode, email).toBe(400)
      expect(page.body, email).toContain(escapeHtml(message))
      expect(() => parseStaffArgs(['add', email, '--role', 'staff']), email).toThrow(message)
      // The API's sentence for the same fault, as the order's customer.email gets it.
      const sentence = shop.json().message.replace(/^customer\.email /, '')
      expect(() => loadConfig({ ADMIN_EMAIL: email, ADMIN_PASSWORD: password }), email).toThrow(
        `Invalid configuration: ADMIN_EMAIL ${sentence}`,
      )
    }
    expect(await emailsLike('example.com')).toEqual([])
  })

  it('is taken where the order takes it', async () => {
    for (const email of ["o'neil+tag@Shape.test", 'a.b-c_d@mail.shape-test.co']) {
      const res = await api('POST', '/api/admin/staff', { email, role: 'staff', password })
      expect(res.statusCode, email).toBe(201)
      expect(() => parseStaffArgs(['add', email, '--role', 'staff'])).not.toThrow()
    }
  })

  it('an account added with such an e-mail before the rule is still found by it', async () => {
    const email = '(x)@example.com'
    const id = await addStaff(app(), email)
    expect(parseStaffArgs(['disable', email])).toEqual({ command: 'disable', email, role: 'staff' })
    expect((await post(`/admin/staff/${id}/disable`, '')).statusCode).toBe(303)
    expect(await signInStatus(app(), email, password)).toBe(400)
  })
})

describe('a new password', () => {
  const withControl = ['correct horse\u0001battery staple', 'correct horse battery\u0007staple']
  const refused = /^The password must not contain control characters \(a tab, a newline,/

  it('holds no control character (C0, DEL, C1) and no half of a surrogate pair', async () => {
    for (const pw of [
      ...withControl,
      'tab\tbetween two words here',
      'a newline\nin the middle of it',
      'delete\u007f is not typeable at all',
      'a C1 control \u009b in the middle',
      'half a pair \ud83d of an emoji here',
    ]) {
      expect(await passwordProblem(pw), JSON.stringify(pw)).toMatch(refused)
    }
    // Printing ASCII, space and Unicode, emoji with their joiners, a private-use character.
    for (const pw of [
      'correct horse battery staple',
      'mot de passe très sûr',
      '👩‍👩‍👧 family of three',
      'apple \uf8ff key on a mac',
    ]) {
      expect(await passwordProblem(pw), pw).toBeUndefined()
    }
  })

  it('is judged guessable in the NFKC form that is hashed, not only as typed', async () => {
    // A fullwidth ｆ: not a run as typed, `abcdefghijklmno` once normalised.
    expect(await passwordProblem('abcde\uff46ghijklmno')).toMatch(/too easy to guess/)
  })

  it('is refused with the sentence on the API, the add and reset forms and one’s own change', async () => {
    const [one, bell] = withControl as [string, string]
    const added = await api('POST', '/api/admin/staff', {
      email: 'new@rv.test',
      role: 'staff',
      password: bell,
    })
    expect(added.statusCode).toBe(400)
    expect(added.json().errors[0]).toMatchObject({ pointer: '/password', detail: refused })
    const page = await post(
      '/admin/staff',
      form({ email: 'new@rv.test', role: 'staff', password: one }),
    )
    expect(page.statusCode).toBe(400)
    expect(page.body).toMatch(/The password must not contain control characters/)
    expect(await emailsLike('new@rv.test')).toEqual([])

    const before = await passwordHashOf(app(), clerkId)
    const reset = await api('PUT', `/api/admin/staff/${clerkId}/password`, { password: bell })
    expect(reset.statusCode).toBe(400)
    const resetPage = await post(`/admin/staff/${clerkId}/password`, form({ password: one }))
    expect(resetPage.statusCode).toBe(400)
    expect(resetPage.body).toMatch(/The password must not contain control characters/)
    const clerkToken = await addToken(app(), clerkId)
    const own = await api(
      'PUT',
      '/api/admin/me/password',
      { currentPassword: password, newPassword: bell },
      clerkToken,
    )
    expect(own.statusCode).toBe(400)
    expect(own.json().errors[0]).toMatchObject({ pointer: '/newPassword', detail: refused })
    const clerk = await signIn(app(), 'clerk@rv.test')
    const ownPage = await post(
      '/admin/password',
      form({ current: password, password: one, again: one }),
      clerk,
    )
    expect(ownPage.statusCode).toBe(400)
    expect(ownPage.body).toMatch(/The password must not contain control characters/)
    expect(await passwordHashOf(app(), clerkId)).toBe(before)
    expect(() => loadConfig({ ADMIN_EMAIL: 'root@rv.test', ADMIN_PASSWORD: one })).toThrow(
      'Invalid configuration: ADMIN_PASSWORD must not contain control characters',
    )
  })

  it('set before the rule still signs in', async () => {
    const [one] = withControl as [string]
    const passwordHash = await hashPassword(one)
    await insertStaff(app().db, { email: 'old@rv.test', role: 'staff', passwordHash })
    expect(await signInStatus(app(), 'old@rv.test', one)).toBe(303)
  })
})

describe('a member’s page forms', () => {
  const tokens = async () =>
    (
      await app()
        .db.selectFrom('staff_tokens')
        .select('id')
        .where('staff_id', '=', clerkId)
        .execute()
    ).length
  const damaged = 'This form is damaged'

  it('"Create token" needs its newest field: without it, the page with the reason and no token', async () => {
    const before = await tokens()
    const missing = await post(`/admin/staff/${clerkId}/tokens`, '')
    expect(missing.statusCode).toBe(400)
    expect(missing.body).toContain(`${damaged}: reload the page and try again.`)
    expect(missing.body).toContain('clerk@rv.test')
    expect(await tokens()).toBe(before)
    const sent = await post(`/admin/staff/${clerkId}/tokens`, form({ newest: '0' }))
    expect([303, 409]).toContain(sent.statusCode)
  })

  it('a field given twice: the member’s page with the reason, nothing changed', async () => {
    const res = await post(`/admin/staff/${clerkId}/role`, 'role=admin&role=admin')
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    // One sentence naming the field, as every staff form says it (src/admin/refused-input.ts).
    expect(res.body).toContain('The role was given twice: choose one.')
    expect(res.body).toContain('clerk@rv.test')
    const row = await app().db.selectFrom('staff').select('role').where('id', '=', clerkId)
    expect((await row.executeTakeFirstOrThrow()).role).toBe('staff')
    // The add form likewise: the list's page with the reason, no account.
    const add = await post(
      '/admin/staff',
      `email=two@rv.test&email=two@rv.test&role=staff&${form({ password })}`,
    )
    expect(add.statusCode).toBe(400)
    expect(add.body).toContain('The e-mail address was given twice: choose one.')
    expect(add.body).toContain('Add a staff member')
    expect(await emailsLike('two@rv.test')).toEqual([])
    // The path's id is still the error page's: there is no member to show.
    expect((await post('/admin/staff/x1/role', 'role=admin&role=admin')).statusCode).toBe(400)
  })

  it('a token with no row is one sentence, whether its id fits the column or not', async () => {
    for (const tokenId of ['987654', '99999999999']) {
      const res = await api('DELETE', `/api/admin/staff/${clerkId}/tokens/${tokenId}`)
      expect(res.statusCode, tokenId).toBe(404)
      expect(res.json().message).toBe(`Staff account ${clerkId} has no token ${tokenId}.`)
      const page = await post(`/admin/staff/${clerkId}/tokens/${tokenId}/revoke`, '')
      expect(page.statusCode, tokenId).toBe(404)
      expect(page.body).toContain(`Staff account ${clerkId} has no token ${tokenId}.`)
    }
  })
})
