import { afterAll, beforeAll, expect, it } from 'vitest'
import { type App, buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { testDatabase } from '../helpers/context.ts'
import {
  addStaff,
  addToken,
  form,
  formHeaders,
  password,
  postSignIn,
  signIn,
} from '../helpers/staff.ts'

const logged: string[] = []
let app: App
let drop: () => Promise<void>
const adminPassword = 'first admin password from the environment'

beforeAll(async () => {
  const db = await testDatabase()
  drop = db.drop
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'trace',
    ADMIN_EMAIL: 'first@example.com',
    ADMIN_PASSWORD: adminPassword,
    ...db.env,
  })
  const built = await buildApp({
    config,
    salesFold: false,
    logStream: { write: (line: string) => void logged.push(line) },
  })
  await built.ready()
  app = built
})
afterAll(async () => {
  await app?.close()
  await drop?.()
})

it('logs no password, session cookie, CSRF token or API token, at any level', async () => {
  const id = await addStaff(app, 'clerk@example.com')
  const token = await addToken(app, id)
  await postSignIn(app, { email: 'clerk@example.com', password: 'a wrong password, logged?' })
  await postSignIn(app, { email: 'first@example.com', password: adminPassword })
  const { cookie, csrf } = await signIn(app, 'clerk@example.com')
  await app.inject({ url: '/admin', headers: { cookie } })
  await app.inject({ url: '/api/admin/me', headers: { authorization: `Bearer ${token}` } })
  await app.inject({
    url: '/api/admin/me',
    headers: { authorization: `Bearer ${token.slice(1)}x` },
  })
  await app.inject({
    method: 'POST',
    url: '/admin/logout',
    headers: { cookie, ...formHeaders },
    payload: form({ _csrf: 'wrong' }),
  })
  await app.inject({
    method: 'POST',
    url: '/admin/logout',
    headers: { cookie, ...formHeaders },
    payload: form({ _csrf: csrf }),
  })

  const text = logged.join('')
  expect(text).toContain('staff signed in') // the log was captured
  expect(text).toContain('first admin created from ADMIN_EMAIL')
  const sessionValue = cookie.split('=')[1] as string
  for (const secret of [
    password,
    'a wrong password, logged?',
    adminPassword,
    sessionValue,
    csrf,
    token,
    token.slice(1),
  ]) {
    expect(text.includes(secret), secret).toBe(false)
  }
  expect(text).not.toContain('clerk@example.com')
  expect(text).not.toContain('first@example.com')
})
