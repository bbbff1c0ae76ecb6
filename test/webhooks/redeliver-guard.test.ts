import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestApp } from '../helpers/context.ts'
import { formHeaders } from '../helpers/staff.ts'
import { insertDelivery, webhookAdminApp } from './endpoint-helpers.ts'

/**
 * Redelivering is refused (409) for a delivery tried or asked to be redelivered in the last 30 s,
 * whatever its status (docs/events.md): a delivered delivery redelivered, sent at once and
 * delivered again was redelivered by each further click a moment apart, one request more to
 * the receiver each. The test and the change are one statement: of requests at the same
 * moment, one redelivers.
 */
let t: TestApp
let admin: Record<string, string>
let boss: { cookie: string; csrf: string }
let register: () => Promise<number>

beforeAll(async () => {
  ;({ t, admin, boss, register } = await webhookAdminApp('guard'))
})
afterAll(() => t?.close())

const path = (endpoint: number, delivery: string) =>
  `/webhooks/${endpoint}/deliveries/${delivery}/redeliver`
const viaApi = (endpoint: number, delivery: string) =>
  t.app.inject({ method: 'POST', url: `/api/admin${path(endpoint, delivery)}`, headers: admin })
const viaPage = (endpoint: number, delivery: string) =>
  t.app.inject({
    method: 'POST',
    url: `/admin${path(endpoint, delivery)}`,
    headers: { cookie: boss.cookie, ...formHeaders },
    payload: new URLSearchParams({ _csrf: boss.csrf }).toString(),
  })

/** As the dispatcher records a 2xx: delivered, tried `secondsAgo` ago. */
const deliveredAgo = (id: string, secondsAgo: number) =>
  sql`update webhook_deliveries set status = 'delivered', delivered_at = now(),
    last_attempt_at = now() - make_interval(secs => ${secondsAgo}) where id = ${id}`.execute(
    t.app.db,
  )

/** The row as if its last redelivery was asked `secondsAgo` ago. */
const askedAgo = (id: string, secondsAgo: number) =>
  sql`update webhook_deliveries
    set redelivered_at = now() - make_interval(secs => ${secondsAgo}) where id = ${id}`.execute(
    t.app.db,
  )

const statusOf = async (id: string) =>
  (
    await sql<{ status: string }>`select status from webhook_deliveries where id = ${id}`.execute(
      t.app.db,
    )
  ).rows[0]?.status

describe('redelivering a delivery tried or redelivered in the last 30 s', () => {
  it('refuses a delivered one tried 2 s ago (409 saying so), and takes it once 30 s have passed', async () => {
    const id = await register()
    const done = await insertDelivery(t.app.db, id, { status: 'delivered', attempts: 1 })
    await deliveredAgo(done.id, 2)
    const res = await viaApi(id, done.id)
    expect(res.statusCode, res.body).toBe(409)
    expect(res.json().message).toBe(
      `Delivery ${done.id} was tried less than 30 s ago and is delivered: to send it again, redeliver it once 30 s have passed since that attempt.`,
    )
    expect(await statusOf(done.id)).toBe('delivered')
    await deliveredAgo(done.id, 31)
    expect((await viaApi(id, done.id)).statusCode).toBe(200)
    expect(await statusOf(done.id)).toBe('pending')
  })

  it('answers a delivered or failed one as due now, not at its last attempt', async () => {
    const id = await register()
    for (const status of ['delivered', 'failed'] as const) {
      const done = await insertDelivery(t.app.db, id, { status, attempts: 1 })
      await sql`update webhook_deliveries set last_attempt_at = now() - interval '10 minutes',
        next_attempt_at = now() - interval '9 minutes' where id = ${done.id}`.execute(t.app.db)
      const { rows } = await sql<{ now: Date }>`select now() as now`.execute(t.app.db)
      const res = await viaApi(id, done.id)
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toMatchObject({ status: 'pending' })
      expect(Date.parse(res.json().nextAttemptAt), status).toBeGreaterThanOrEqual(
        (rows[0] as { now: Date }).now.getTime(),
      )
    }
  })

  it('refuses a second ask within 30 s, before or after the dispatcher sent it', async () => {
    const id = await register()
    const done = await insertDelivery(t.app.db, id, { status: 'failed', attempts: 20 })
    expect((await viaApi(id, done.id)).statusCode).toBe(200)
    // Not sent yet (waiting for the order's earlier events, say): a second ask changes nothing.
    const asked = await viaApi(id, done.id)
    expect(asked.statusCode).toBe(409)
    expect(asked.json().message).toContain('was already asked to be sent again less than 30 s ago')
    // Sent at once and delivered, as in the report: clicks a moment apart send it no more.
    await deliveredAgo(done.id, 0.5)
    expect((await viaApi(id, done.id)).statusCode).toBe(409)
    expect(await statusOf(done.id)).toBe('delivered')
    // Both 30 s past: redelivered again.
    await deliveredAgo(done.id, 31)
    await askedAgo(done.id, 31)
    expect((await viaApi(id, done.id)).statusCode).toBe(200)
  })

  it('on the page: 409 with the page and the reason, no 303', async () => {
    const id = await register()
    const done = await insertDelivery(t.app.db, id, { status: 'delivered', attempts: 1 })
    await deliveredAgo(done.id, 2)
    const res = await viaPage(id, done.id)
    expect(res.statusCode).toBe(409)
    expect(res.body).toContain(`Delivery ${done.id} was tried less than 30 s ago`)
    await deliveredAgo(done.id, 31)
    const first = await viaPage(id, done.id)
    expect(first.statusCode).toBe(303)
    const second = await viaPage(id, done.id)
    expect(second.statusCode).toBe(409)
    expect(second.body).toContain('was already asked to be sent again')
  })

  it('of concurrent requests (API and page), exactly one redelivers', async () => {
    const id = await register()
    for (const send of [viaApi, viaPage]) {
      const done = await insertDelivery(t.app.db, id, { status: 'delivered', attempts: 1 })
      const answers = await Promise.all(Array.from({ length: 6 }, () => send(id, done.id)))
      const codes = answers.map((r) => r.statusCode).sort()
      const won = send === viaApi ? 200 : 303
      expect(codes).toEqual([won, 409, 409, 409, 409, 409].sort())
      const row = await sql<{ status: string; attempts: number }>`
        select status, attempts from webhook_deliveries where id = ${done.id}`.execute(t.app.db)
      expect(row.rows[0]).toEqual({ status: 'pending', attempts: 1 })
    }
  })
})
