import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { maxPasswordLength } from '../../src/staff/passwords.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, alertOf, password, postSignIn } from '../helpers/staff.ts'

let t: TestApp

beforeAll(async () => {
  t = await buildTestApp()
  await addStaff(t.app, 'clerk@example.com')
})
afterAll(() => t?.close())

const attempts = async () =>
  Number(
    (
      await t.app.db
        .selectFrom('staff_login_attempts')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  )

/** The sign-in page's form is on the answer (not an error page). */
const isSignInForm = (html: string) => html.includes('<form method="post" action="/admin/login"')

describe('the sign-in form, given more than any account can have', () => {
  it('an over-long e-mail: the form again (400) with a sentence by the field, no attempt counted', async () => {
    const before = await attempts()
    for (const email of [
      `${'a'.repeat(64)}@${'b'.repeat(186)}.com`, // 255 characters
      `${'a'.repeat(65)}@example.com`, // 65 before the @
      `${'x'.repeat(3000)}@example.com`,
    ]) {
      const res = await postSignIn(t.app, { email, password })
      expect(res.statusCode, email.length.toString()).toBe(400)
      expect(res.headers['content-type']).toMatch(/^text\/html/)
      expect(isSignInForm(res.body)).toBe(true)
      expect(alertOf(res.body)).toBe(
        'That is longer than an e-mail address can be (at most 254 characters, 64 before the @). Check it and try again.',
      )
      const input = /<input id="email"[^>]*>/.exec(res.body)?.[0] ?? ''
      expect(input).toContain('aria-invalid="true"')
      expect(input).toContain('aria-describedby="email-error"')
      expect(res.body).toContain('<p class="field-error" id="email-error">That is longer')
    }
    expect(await attempts()).toBe(before)
  })

  it('an address of exactly the limits is an ordinary attempt', async () => {
    const email = `${'a'.repeat(64)}@${'b'.repeat(185)}.com` // 254 characters
    expect(email).toHaveLength(254)
    const res = await postSignIn(t.app, { email, password })
    expect(res.statusCode).toBe(400)
    expect(alertOf(res.body)).toBe('That e-mail and password do not match a staff account.')
  })

  it('an over-long password: the form again with the usual refusal, not an error page', async () => {
    const res = await postSignIn(t.app, {
      email: 'clerk@example.com',
      password: 'p'.repeat(maxPasswordLength + 1),
    })
    expect(res.statusCode).toBe(400)
    expect(isSignInForm(res.body)).toBe(true)
    expect(alertOf(res.body)).toBe('That e-mail and password do not match a staff account.')
    expect(res.body).toContain('value="clerk@example.com"')
  })
})
