import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sessionMarkSeconds } from '../../src/staff/queries.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, signIn } from '../helpers/staff.ts'

let t: TestApp

beforeAll(async () => {
  t = await buildTestApp()
  await addStaff(t.app, 'pages@example.com', 'staff')
})
afterAll(() => t?.close())

/** The only session's last activity and its version (xmin changes whenever the row is written). */
async function sessionRow() {
  const { rows } = await sql<{ last_seen_at: Date; version: string }>`
    select last_seen_at, xmin::text as version from staff_sessions
  `.execute(t.app.db)
  expect(rows).toHaveLength(1)
  return rows[0]
}

const setIdle = (interval: string) =>
  sql`update staff_sessions set last_seen_at = now() - ${interval}::interval`.execute(t.app.db)

describe('a back-office session in use', () => {
  it('is marked at most once a minute, and still ends when idle, a minute late at most', async () => {
    await t.app.db.deleteFrom('staff_sessions').execute()
    const { cookie } = await signIn(t.app, 'pages@example.com')
    const open = () => t.app.inject({ url: '/admin', headers: { cookie } })
    expect((await open()).statusCode).toBe(200)
    const first = await sessionRow()

    // Pages stay reads: no write (and no commit to flush) per request within the minute.
    for (let i = 0; i < 3; i++) expect((await open()).statusCode).toBe(200)
    expect(await sessionRow()).toEqual(first)

    // Over a minute after the mark, a request marks it again.
    await setIdle(`${sessionMarkSeconds + 1} seconds`)
    const stale = await sessionRow()
    expect((await open()).statusCode).toBe(200)
    const again = await sessionRow()
    expect(again?.last_seen_at.getTime()).toBeGreaterThan(stale?.last_seen_at.getTime() ?? 0)

    // The mark may be up to a minute older than the last request, so the session lives until
    // 30 minutes + that minute after its mark: open at 30 min 30 s, ended past 31 min.
    await setIdle('30 minutes 30 seconds')
    expect((await open()).statusCode).toBe(200)
    await setIdle('31 minutes 1 second')
    expect((await open()).statusCode).toBe(303)
  })
})
