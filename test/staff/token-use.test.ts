import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

let t: TestApp
let staffId: number

beforeAll(async () => {
  t = await buildTestApp()
  staffId = await addStaff(t.app, 'reader@example.com', 'staff')
})
afterAll(() => t?.close())

/** The token row's last use and its version (xmin changes whenever the row is written). */
async function tokenRow(id: number) {
  const { rows } = await sql<{ last_used_at: Date | null; version: string }>`
    select last_used_at, xmin::text as version from staff_tokens where id = ${id}
  `.execute(t.app.db)
  return rows[0]
}

const me = (token: string) =>
  t.app.inject({ url: '/api/admin/me', headers: { authorization: `Bearer ${token}` } })

describe('an API token in use', () => {
  it('is marked used, and not written again by requests within the next minute', async () => {
    const token = await addToken(t.app, staffId)
    const { id } = await t.app.db
      .selectFrom('staff_tokens')
      .select('id')
      .where('staff_id', '=', staffId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow()
    expect((await tokenRow(id))?.last_used_at).toBeNull()

    expect((await me(token)).statusCode).toBe(200)
    const first = await tokenRow(id)
    expect(first?.last_used_at).not.toBeNull()

    // Reads stay reads: no write (and no commit to flush) per request.
    for (let i = 0; i < 3; i++) expect((await me(token)).statusCode).toBe(200)
    expect(await tokenRow(id)).toEqual(first)

    // Over a minute later it is marked again.
    await sql`update staff_tokens set last_used_at = now() - interval '61 seconds' where id = ${id}`.execute(
      t.app.db,
    )
    const stale = await tokenRow(id)
    expect((await me(token)).statusCode).toBe(200)
    const again = await tokenRow(id)
    expect(again?.last_used_at?.getTime()).toBeGreaterThan(stale?.last_used_at?.getTime() ?? 0)
  })

  it('is still refused on its next request once revoked or its account disabled', async () => {
    const token = await addToken(t.app, staffId)
    expect((await me(token)).statusCode).toBe(200)
    await sql`update staff_tokens set revoked_at = now() where staff_id = ${staffId}`.execute(
      t.app.db,
    )
    expect((await me(token)).statusCode).toBe(401)

    const other = await addToken(t.app, staffId)
    expect((await me(other)).statusCode).toBe(200)
    await sql`update staff set disabled_at = now() where id = ${staffId}`.execute(t.app.db)
    expect((await me(other)).statusCode).toBe(401)
  })
})
