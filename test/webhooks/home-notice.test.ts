import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fanOut } from '../../src/webhooks/fan-out.ts'
import { claimDue } from '../../src/webhooks/leases.ts'
import { defaultRetryPolicy, recordAttempt } from '../../src/webhooks/outcomes.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken, signIn } from '../helpers/staff.ts'
import { insertEndpoint, insertEvents } from '../helpers/webhook-receiver.ts'

// The back office's home page names the endpoints the dispatcher disabled, and those failing,
// to admins: the disabling is made by the dispatcher's own statement (recordAttempt), not by hand.
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => {
  await t?.close()
})

const home = async (cookie: string) =>
  (await t.app.inject({ url: '/admin', headers: { cookie } })).body
const notice = (html: string) =>
  /<section class="alert webhook-notice"[\s\S]*?<\/section>/.exec(html)?.[0] ?? ''
const failure = { ok: false as const, status: 500, error: 'answered 500' }

describe('the back office home page', () => {
  it('names each endpoint the dispatcher disabled, and each failing one, to admins only', async () => {
    const adminId = await addStaff(t.app, 'boss@example.com', 'admin')
    await addStaff(t.app, 'pat@example.com')
    const admin = await signIn(t.app, 'boss@example.com')
    const staff = await signIn(t.app, 'pat@example.com')
    const db = t.app.db

    const healthy = await insertEndpoint(db, 'http://127.0.0.1:9/healthy', ['order.placed'])
    const failing = await insertEndpoint(db, 'http://127.0.0.1:9/failing', ['order.packed'])
    const dead = await insertEndpoint(db, 'http://127.0.0.1:9/dead?a=1&b=<2>', ['order.shipped'])
    const off = await insertEndpoint(db, 'http://127.0.0.1:9/off', ['order.cancelled'])
    expect(notice(await home(admin.cookie))).toBe('')

    await insertEvents(db, [
      { type: 'order.placed', orderId: 1 },
      { type: 'order.packed', orderId: 2 },
      { type: 'order.shipped', orderId: 3 },
    ])
    await fanOut(db)
    const taken = await claimDue(db, 10, 30_000)
    const to = (id: number) => {
      const d = taken.find((x) => x.endpointId === id)
      if (!d) throw new Error(`no delivery to ${id}`)
      return d
    }
    await recordAttempt(db, to(healthy.id), { ok: true, status: 200 }, defaultRetryPolicy)
    await recordAttempt(db, to(failing.id), failure, defaultRetryPolicy)
    // Failing for 4 days: this failure makes the dispatcher disable it.
    await sql`update webhook_endpoints set failing_since = now() - interval '4 days'
      where id = ${dead.id}`.execute(db)
    expect(await recordAttempt(db, to(dead.id), failure, defaultRetryPolicy)).toMatchObject({
      endpointDisabled: true,
    })
    // Disabled by an admin: not a surprise to admins, not named.
    await sql`update webhook_endpoints set enabled = false where id = ${off.id}`.execute(db)

    const shown = notice(await home(admin.cookie))
    expect(shown).toContain('Webhook endpoints need attention')
    const items = [...shown.matchAll(/<li id="watch-endpoint-(\d+)">([\s\S]*?)<\/li>/g)]
    // The disabled one first: its deliveries have stopped.
    expect(items.map((m) => Number(m[1]))).toEqual([dead.id, failing.id])
    const [disabled, stillFailing] = items.map((m) => m[2] ?? '')
    expect(disabled).toContain(
      `<a href="/admin/webhooks/${dead.id}">http://127.0.0.1:9/dead?a=1&amp;b=&lt;2&gt;</a>`,
    )
    expect(disabled).toMatch(
      /<strong>disabled by the dispatcher<\/strong> \(every delivery failed for 3 days, with no 2xx; re-enable it once it answers; failing since <time datetime="\d{4}-[^"]+Z">\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/time>\)\. Nothing is sent to it until it is enabled again/,
    )
    expect(stillFailing).toContain(`<a href="/admin/webhooks/${failing.id}">`)
    expect(stillFailing).toMatch(
      /every delivery has failed since <time datetime="[^"]+">[^<]+ UTC<\/time>; the dispatcher disables it once that has lasted 3 days\./,
    )

    // Staff cannot open the webhook pages: no notice for them.
    const staffHome = await home(staff.cookie)
    expect(staffHome).toContain('Signed in as pat@example.com')
    expect(notice(staffHome)).toBe('')

    // Enabled again by an admin: no longer named.
    const token = await addToken(t.app, adminId)
    const enabled = await t.app.inject({
      method: 'PATCH',
      url: `/api/admin/webhooks/${dead.id}`,
      headers: { authorization: `Bearer ${token}` },
      payload: { enabled: true },
    })
    expect(enabled.statusCode).toBe(200)
    const after = notice(await home(admin.cookie))
    expect(after).not.toContain(`watch-endpoint-${dead.id}`)
    expect(after).toContain(`watch-endpoint-${failing.id}`)
  })
})
