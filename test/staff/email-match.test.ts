import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findStaffByEmail } from '../../src/staff/queries.ts'
import { buildTestApp, type TestApp, usingPostgres } from '../helpers/context.ts'
import { addStaff, addToken, password, signInStatus } from '../helpers/staff.ts'

/**
 * A staff account is found by the e-mail it was added with, in any case, however its accented
 * letters were typed (NFC or decomposed) and whatever the database's locale: the lookup lowers
 * both sides with the database's lower(), the expression of the unique index.
 */

const composed = '\u00e9lodie@example.com' // é as one character
const decomposed = 'e\u0301lodie@example.com' // e and a combining acute accent

describe('staff e-mails typed in NFC or decomposed', () => {
  let t: TestApp
  let bossToken: string
  beforeAll(async () => {
    t = await buildTestApp()
    bossToken = await addToken(t.app, await addStaff(t.app, 'boss@example.com', 'admin'))
  })
  afterAll(() => t?.close())

  const addByApi = (email: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/admin/staff',
      headers: { authorization: `Bearer ${bossToken}` },
      payload: { email, role: 'staff', password },
    })

  it('are one address: stored in NFC, found and signed in with either spelling', async () => {
    // Added before new accounts had to be ASCII (src/email.ts), as accounts still can be by SQL.
    await addStaff(t.app, decomposed)
    expect((await findStaffByEmail(t.app.db, composed))?.email).toBe(composed)
    expect(await signInStatus(t.app, composed, password)).toBe(303)
    expect(await signInStatus(t.app, decomposed, password)).toBe(303)
    expect((await findStaffByEmail(t.app.db, decomposed.toUpperCase()))?.email).toBe(composed)
    // A new account's e-mail is ASCII: neither spelling is taken again, whatever its form.
    for (const email of [composed, decomposed]) {
      const again = await addByApi(email)
      expect(again.statusCode).toBe(400)
      expect(again.json().detail).toContain('only ASCII characters before the @')
    }
  })
})

/**
 * A PostgreSQL database created with LC_CTYPE C (`initdb --locale=C`, `createdb --locale=C`),
 * whose lower() folds A–Z only: an account whose e-mail holds an accented capital was stored,
 * then never found again (JavaScript lowered the e-mail typed at sign-in, the database did not
 * lower the stored one). PGlite's locale is fixed, so this part runs on PostgreSQL only.
 */
describe.runIf(usingPostgres)('staff e-mails on a database whose locale is C', () => {
  const serverUrl = process.env.TEST_DATABASE_URL as string
  const name = `test_c_${randomBytes(6).toString('hex')}`
  let t: TestApp
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: serverUrl })
    await client.connect()
    try {
      await client.query(statement)
    } finally {
      await client.end()
    }
  }
  beforeAll(async () => {
    await admin(`create database ${name} template template0 encoding 'UTF8' locale 'C'`)
    const url = new URL(serverUrl)
    url.pathname = `/${name}`
    t = await buildTestApp({ DATABASE_URL: url.toString() })
  })
  afterAll(async () => {
    await t?.close()
    await admin(`drop database if exists ${name} with (force)`)
  })

  it('finds an account with an accented capital by the e-mail it was added with', async () => {
    const id = await addStaff(t.app, 'Élodie@example.com')
    expect((await findStaffByEmail(t.app.db, 'Élodie@example.com'))?.id).toBe(id)
    expect((await findStaffByEmail(t.app.db, 'ÉLODIE@EXAMPLE.COM'))?.id).toBe(id)
    expect(await signInStatus(t.app, 'Élodie@example.com', password)).toBe(303)
  })
})
