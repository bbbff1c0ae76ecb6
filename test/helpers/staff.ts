import { argon2, randomBytes } from 'node:crypto'
import type { App } from '../../src/app.ts'
import { argon2Parameters, hashPassword } from '../../src/staff/passwords.ts'
import { insertStaff, insertToken, type Role } from '../../src/staff/queries.ts'
import { digest, newSecret } from '../../src/staff/secrets.ts'

export const password = 'correct horse battery staple'

/** Adds a staff member straight in the database; returns its id. */
export async function addStaff(app: App, email: string, role: Role = 'staff') {
  const id = await insertStaff(app.db, { email, role, passwordHash: await hashPassword(password) })
  if (id === undefined) throw new Error(`${email} exists`)
  return id
}

/** A new API token for the staff member (what `npm run staff -- token` prints). */
export async function addToken(app: App, staffId: number) {
  const token = newSecret()
  await insertToken(app.db, staffId, digest(token))
  return token
}

/** `name=value` split at its first `=` (a base64 value, a webhook secret's, ends in `=`). */
const nameAndValue = (pair: string): [string, string] => {
  const eq = pair.indexOf('=')
  return eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)]
}

/** The `name=value` pairs of a response's Set-Cookie headers, as one Cookie header. */
export function cookieHeader(setCookie: string | string[] | undefined, previous = ''): string {
  const jar = new Map(previous.split('; ').filter(Boolean).map(nameAndValue))
  for (const line of [setCookie ?? []].flat()) {
    const [name, value] = nameAndValue(line.split(';')[0] ?? '')
    if (value === '') jar.delete(name)
    else jar.set(name, value)
  }
  return [...jar].map(([n, v]) => `${n}=${v}`).join('; ')
}

/** The `_csrf` value of the first form on a page. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]*)"/.exec(html)
  if (!m?.[1]) throw new Error('no _csrf field on the page')
  return m[1]
}

export const formHeaders = {
  accept: 'text/html',
  'content-type': 'application/x-www-form-urlencoded',
}

/** A urlencoded form body. */
export const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

/** Opens the sign-in page; returns its cookie (pre-session CSRF) and token. */
export async function signInPage(app: App) {
  const page = await app.inject({ url: '/admin/login' })
  return { cookie: cookieHeader(page.headers['set-cookie']), csrf: csrfOf(page.body) }
}

/** Posts the sign-in form as a browser would (with the page's CSRF token). */
export async function postSignIn(
  app: App,
  fields: { email: string; password: string; next?: string },
  headers: Record<string, string> = {},
) {
  const { cookie, csrf } = await signInPage(app)
  return app.inject({
    method: 'POST',
    url: '/admin/login',
    headers: { cookie, ...formHeaders, ...headers },
    payload: form({ ...fields, _csrf: csrf }),
  })
}

/** Signs in; returns the Cookie header that carries the session, and the session's CSRF token. */
export async function signIn(app: App, email: string, pw = password) {
  const res = await postSignIn(app, { email, password: pw })
  if (res.statusCode !== 303) throw new Error(`sign-in answered ${res.statusCode}`)
  const cookie = cookieHeader(res.headers['set-cookie'])
  const home = await app.inject({ url: '/admin', headers: { cookie } })
  return { cookie, csrf: csrfOf(home.body) }
}

/** An admin with an API token and a signed-in session (cookie and CSRF token). */
export async function signedInAdmin(app: App, email: string) {
  const id = await addStaff(app, email, 'admin')
  return { token: await addToken(app, id), session: await signIn(app, email) }
}

/** Whether the sign-in form takes this e-mail and password: 303 yes, 400 no, 429 throttled. */
export async function signInStatus(app: App, email: string, pw: string) {
  return (await postSignIn(app, { email, password: pw })).statusCode
}

/** A hash of the password exactly as typed: what hashPassword stored before it normalised. */
export async function typedFormHash(password: string): Promise<string> {
  const { memory, passes, parallelism, tagLength } = argon2Parameters
  const salt = randomBytes(16)
  const tag = await new Promise<Buffer>((resolve, reject) =>
    argon2(
      'argon2id',
      { message: password, nonce: salt, memory, passes, parallelism, tagLength },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  )
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '')
  return `$argon2id$v=19$m=${memory},t=${passes},p=${parallelism}$${b64(salt)}$${b64(tag)}`
}

/** The account's stored password hash (to show a refused change left it as it was). */
export async function passwordHashOf(app: App, staffId: number) {
  const row = await app.db
    .selectFrom('staff')
    .select('password_hash')
    .where('id', '=', staffId)
    .executeTakeFirstOrThrow()
  return row.password_hash
}

/** The text of a page's alert (`role="alert"`, a `<p>` or a `<div>` holding one). */
export const alertOf = (html: string) =>
  /role="alert"[^>]*>\s*(?:<p>)?([^<]*)</.exec(html)?.[1]?.trim()
