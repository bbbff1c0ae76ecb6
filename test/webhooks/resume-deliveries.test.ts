import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestApp } from '../helpers/context.ts'
import { formHeaders } from '../helpers/staff.ts'
import { insertDelivery, webhookAdminApp } from './endpoint-helpers.ts'

/**
 * Enabling an endpoint makes its waiting deliveries due at once (an integrator who fixed the
 * receiver need not wait out a backoff of up to 1 h), and redelivering a pending delivery that
 * waits for its next try sends it now; a delivery tried in the last 30 s (the lease: it may be
 * on its way) is left alone in both, so no event is sent twice at the same time.
 */
let t: TestApp
let admin: Record<string, string>
let boss: { cookie: string; csrf: string }
let register: () => Promise<number>

beforeAll(async () => {
  ;({ t, admin, boss, register } = await webhookAdminApp('resume'))
})
afterAll(() => t?.close())

/** As the dispatcher leaves an endpoint after 3 days of failures. */
const disableAsDispatcher = (id: number) =>
  sql`update webhook_endpoints set enabled = false, failing_since = now() - interval '4 days',
    disabled_reason = 'every delivery failed since 2026-01-01T00:00:00Z' where id = ${id}`.execute(
    t.app.db,
  )

/** A pending delivery under a lease taken just now (claimDue: tried now, next try in 30 s). */
const leaseNow = (id: string) =>
  sql`update webhook_deliveries set last_attempt_at = now(),
    next_attempt_at = now() + interval '30 seconds' where id = ${id}`.execute(t.app.db)

interface State {
  status: string
  attempts: number
  due: boolean
}
const stateOf = async (id: string): Promise<State> =>
  (
    await sql<State>`select status, attempts, next_attempt_at <= now() as due
      from webhook_deliveries where id = ${id}`.execute(t.app.db)
  ).rows[0] as State

/** An endpoint the dispatcher disabled, with deliveries in every state, and another's. */
async function disabledWithDeliveries() {
  const id = await register()
  const other = await register()
  const waiting = await insertDelivery(t.app.db, id, { status: 'pending', attempts: 40 })
  const later = await insertDelivery(t.app.db, id, { status: 'pending', attempts: 39 })
  const inFlight = await insertDelivery(t.app.db, id, { status: 'pending', attempts: 41 })
  await leaseNow(inFlight.id)
  const failed = await insertDelivery(t.app.db, id, { status: 'failed', attempts: 60 })
  const elsewhere = await insertDelivery(t.app.db, other, { status: 'pending', attempts: 3 })
  await disableAsDispatcher(id)
  return { id, waiting, later, inFlight, failed, elsewhere }
}

async function expectResumed(d: Awaited<ReturnType<typeof disabledWithDeliveries>>) {
  expect(await stateOf(d.waiting.id)).toEqual({ status: 'pending', attempts: 40, due: true })
  expect(await stateOf(d.later.id)).toEqual({ status: 'pending', attempts: 39, due: true })
  // On its way (maybe): its attempt's outcome sets its next try.
  expect(await stateOf(d.inFlight.id)).toEqual({ status: 'pending', attempts: 41, due: false })
  // Not pending, or not this endpoint's: untouched.
  expect((await stateOf(d.failed.id)).status).toBe('failed')
  expect(await stateOf(d.elsewhere.id)).toEqual({ status: 'pending', attempts: 3, due: false })
}

describe('enabling an endpoint the dispatcher disabled', () => {
  it('through the API makes its waiting deliveries due now, attempts kept', async () => {
    const d = await disabledWithDeliveries()
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/admin/webhooks/${d.id}`,
      headers: admin,
      payload: { enabled: true },
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ enabled: true, disabledReason: null })
    await expectResumed(d)
  })

  it("through the page's Enable button does the same", async () => {
    const d = await disabledWithDeliveries()
    const res = await t.app.inject({
      method: 'POST',
      url: `/admin/webhooks/${d.id}/enabled`,
      headers: { cookie: boss.cookie, ...formHeaders },
      payload: new URLSearchParams({ _csrf: boss.csrf, enabled: 'true' }).toString(),
    })
    expect(res.statusCode, res.body).toBe(303)
    await expectResumed(d)
  })

  it('disabling, or changing something else, leaves the waiting deliveries waiting', async () => {
    const id = await register()
    const waiting = await insertDelivery(t.app.db, id, { status: 'pending', attempts: 4 })
    for (const payload of [{ description: 'x' }, { enabled: false }]) {
      const res = await t.app.inject({
        method: 'PATCH',
        url: `/api/admin/webhooks/${id}`,
        headers: admin,
        payload,
      })
      expect(res.statusCode, res.body).toBe(200)
      expect((await stateOf(waiting.id)).due).toBe(false)
    }
  })
})

describe('redelivering a pending delivery', () => {
  const redeliver = (endpoint: number, delivery: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/admin/webhooks/${endpoint}/deliveries/${delivery}/redeliver`,
      headers: admin,
    })

  it('sends one waiting for its next try now, attempts kept', async () => {
    const id = await register()
    const waiting = await insertDelivery(t.app.db, id, { status: 'pending', attempts: 7 })
    const res = await redeliver(id, waiting.id)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ id: waiting.id, status: 'pending', attempts: 7 })
    expect(Date.parse(res.json().nextAttemptAt)).toBeLessThanOrEqual(Date.now() + 1000)
    expect(await stateOf(waiting.id)).toEqual({ status: 'pending', attempts: 7, due: true })
  })

  it('refuses one tried in the last 30 s (it may be on its way): 409 saying so', async () => {
    const id = await register()
    const inFlight = await insertDelivery(t.app.db, id, { status: 'pending', attempts: 2 })
    await leaseNow(inFlight.id)
    const res = await redeliver(id, inFlight.id)
    expect(res.statusCode, res.body).toBe(409)
    expect(res.json().message).toBe(
      `Delivery ${inFlight.id} was tried less than 30 s ago and may still be on its way: redeliver it once that attempt is recorded, in 30 s at the latest.`,
    )
    expect(await stateOf(inFlight.id)).toEqual({ status: 'pending', attempts: 2, due: false })
  })
})

describe('a delivered delivery sent again', () => {
  it('keeps its deliveredAt (the latest 2xx): the API says so, the page shows "delivered before"', async () => {
    const id = await register()
    const done = await insertDelivery(t.app.db, id, { status: 'delivered', attempts: 1 })
    await sql`update webhook_deliveries set delivered_at = now() - interval '1 hour'
      where id = ${done.id}`.execute(t.app.db)
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/admin/webhooks/${id}/deliveries/${done.id}/redeliver`,
      headers: admin,
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ status: 'pending', deliveredAt: expect.any(String) })

    const spec = (await t.app.inject('/openapi.json')).json()
    const delivery =
      spec.paths['/api/admin/webhooks/{id}/deliveries'].get.responses['200'].content[
        'application/json'
      ].schema.items
    expect(delivery.properties.deliveredAt.description).toContain('kept when it is sent again')
    // The service never deletes outbox rows: only a hand-made delete leaves webhookId null.
    expect(delivery.properties.webhookId.description).toContain('deleted by hand')

    const page = await t.app.inject({
      url: `/admin/webhooks/${id}`,
      headers: { cookie: boss.cookie, accept: 'text/html' },
    })
    const row = new RegExp(`<tr id="delivery-${done.id}"[\\s\\S]*?</tr>`).exec(page.body)?.[0]
    expect(row).toMatch(/<td class="delivery-status">pending; delivered before <time[^>]*>/)
  })
})

describe("the endpoint page's deliveries", () => {
  it('show each webhook-id (evt_…), so a receiver log line finds its row', async () => {
    const id = await register()
    const one = await insertDelivery(t.app.db, id, { status: 'failed', attempts: 1 })
    const api = await t.app.inject({ url: `/api/admin/webhooks/${id}/deliveries`, headers: admin })
    const webhookId = api.json()[0].webhookId
    expect(webhookId).toMatch(/^evt_/)
    const page = await t.app.inject({
      url: `/admin/webhooks/${id}`,
      headers: { cookie: boss.cookie, accept: 'text/html' },
    })
    const row = new RegExp(`<tr id="delivery-${one.id}"[\\s\\S]*?</tr>`).exec(page.body)?.[0]
    expect(row).toContain(`<code class="webhook-id">${webhookId}</code>`)
  })
})
