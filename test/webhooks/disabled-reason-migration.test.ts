import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { down, up } from '../../migrations/0021_webhook_disabled_reason_plain.ts'
import { defaultRetryPolicy, disabledReason } from '../../src/webhooks/outcomes.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

/**
 * Migration 0021 rewrites the reasons the dispatcher stored with a time in them ("every delivery
 * failed since 2026-11-25T00:00:00Z, …", which the pages showed raw) to the plain reason it
 * writes now (outcomes.ts, disabledReason); the time stays in failing_since. Down writes the old
 * text back from it.
 */

let t: TestApp
let token: string
beforeAll(async () => {
  t = await buildTestApp()
  token = await addToken(t.app, await addStaff(t.app, 'boss@example.com', 'admin'))
})
afterAll(() => t?.close())

const register = async (url: string) =>
  (
    await t.app.inject({
      method: 'POST',
      url: '/api/admin/webhooks',
      headers: { authorization: `Bearer ${token}` },
      payload: { url, eventTypes: ['order.placed'] },
    })
  ).json().id as number

const reasons = async () =>
  (
    await t.app.db
      .selectFrom('webhook_endpoints')
      .select(['id', 'disabled_reason'])
      .orderBy('id')
      .execute()
  ).map((r) => r.disabled_reason)

it('rewrites the old reasons to the plain one where failing_since keeps the time, leaves others, and down restores them', async () => {
  const old =
    'every delivery failed since 2026-11-25T00:00:00Z, with no 2xx since; re-enable it once it answers'
  const dead = await register('https://93.184.215.14/dead')
  const off = await register('https://93.184.215.14/off')
  // Disabled, then a late 2xx cleared failing_since: the text holds its only time.
  const cleared = await register('https://93.184.215.14/cleared')
  await sql`update webhook_endpoints set enabled = false, disabled_reason = ${old}
    where id = ${cleared}`.execute(t.app.db)
  await sql`update webhook_endpoints set enabled = false, failing_since = '2026-11-25T00:00:00Z',
    disabled_reason = ${old} where id = ${dead}`.execute(t.app.db)
  await sql`update webhook_endpoints set enabled = false where id = ${off}`.execute(t.app.db)
  // Run again by hand: the app migrated its database before these rows were written.
  const db = t.app.db as unknown as Kysely<unknown>
  await up(db)
  const plain = disabledReason(defaultRetryPolicy)
  expect(await reasons()).toEqual([plain, null, old])
  await down(db)
  expect(await reasons()).toEqual([old, null, old])
})
