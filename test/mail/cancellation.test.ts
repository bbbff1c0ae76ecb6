import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../src/app.ts'
import { migrateToLatest, migrator } from '../../src/db/migrate.ts'
import { buildTestApp, type TestApp, unmigratedDatabase } from '../helpers/context.ts'
import { lifecycleApi, placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, addToken, form, formHeaders, signIn } from '../helpers/staff.ts'
import { expectLinesAndTotal, freePort, smtpSink } from './smtp-sink.ts'

// The cancellation e-mail (order.cancelled), from the real app with its dispatcher and mail
// sender to a real SMTP server on loopback that is down at first (so a confirmation stays
// pending, retried every few tens of milliseconds), then up.
const base = 'https://shop.example.com'
let t: TestApp
let app: App
let sink: ReturnType<typeof smtpSink>
let api: ReturnType<typeof lifecycleApi>

beforeAll(async () => {
  const port = await freePort()
  sink = smtpSink(port)
  t = await buildTestApp(
    {
      RATE_LIMIT_MAX: '0',
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      PUBLIC_BASE_URL: base,
      MAIL_FROM: 'Trailhead Goods <orders@shop.example.com>',
      WEBHOOKS_POLL_MS: '20',
    },
    { webhookDispatcher: true, mailer: { retry: { baseMs: 20, capMs: 50 } } },
  )
  app = t.app
  api = lifecycleApi(app, await addToken(app, await addStaff(app, 'clerk@example.com')))
})
afterAll(async () => {
  await t?.close()
  await sink?.close()
})

const rows = (orderNumber: string) =>
  app.db
    .selectFrom('order_emails as m')
    .innerJoin('orders as o', 'o.id', 'm.order_id')
    .select(['m.kind', 'm.status', 'm.attempts'])
    .where('o.order_number', '=', orderNumber)
    .orderBy('m.id')
    .execute()
type Rows = Awaited<ReturnType<typeof rows>>

/** Starts the SMTP server the first time (the first test keeps it down for a while). */
let listening = false
const serverUp = async () => {
  if (!listening) await sink.listen()
  listening = true
}

describe('the cancellation e-mail', () => {
  it('waits behind a pending confirmation (cancelled on the back office page), then follows it', async () => {
    const n = await placeOrder(app, [{ sku: 'MUG-001', quantity: 2 }])
    // The confirmation is tried and fails: the SMTP server is down.
    await expect
      .poll(() => rows(n), { timeout: 15_000 })
      .toSatisfy((r: Rows) => r.length === 1 && (r[0]?.attempts ?? 0) >= 2)
    await addStaff(app, 'packer@example.com')
    const { cookie, csrf } = await signIn(app, 'packer@example.com')
    const cancel = await app.inject({
      method: 'POST',
      url: `/admin/orders/${n}/transitions`,
      headers: { cookie, ...formHeaders },
      payload: form({ _csrf: csrf, to: 'cancelled', version: '1' }),
    })
    expect(cancel.statusCode).toBe(303)
    // Queued, but never tried while the confirmation is pending, however often that is retried.
    await expect
      .poll(() => rows(n), { timeout: 15_000 })
      .toSatisfy((r: Rows) => r[1]?.kind === 'cancellation')
    const tried = (await rows(n))[0]?.attempts ?? 0
    await expect
      .poll(() => rows(n), { timeout: 15_000 })
      .toSatisfy((r: Rows) => (r[0]?.attempts ?? 0) >= tried + 3)
    expect(await rows(n)).toMatchObject([
      { kind: 'confirmation', status: 'pending' },
      { kind: 'cancellation', status: 'pending', attempts: 0 },
    ])

    await serverUp()
    await sink.waitFor(2)
    expect(sink.received.map((m) => m.mail.subject)).toEqual([
      `Your Trailhead Goods order ${n} is placed`,
      `Your Trailhead Goods order ${n} is cancelled`,
    ])
    await expect
      .poll(() => rows(n), { timeout: 10_000 })
      .toMatchObject([
        { kind: 'confirmation', status: 'sent' },
        { kind: 'cancellation', status: 'sent', attempts: 1 },
      ])
  })

  it('says what was cancelled (lines, total), links to the order, and keeps the staff note to staff', async () => {
    await serverUp()
    const before = sink.received.length
    const n = await placeOrder(app, [
      { sku: 'MUG-001', quantity: 2 },
      { sku: 'TEE-002', quantity: 1 },
    ])
    await sink.waitFor(before + 1)
    await api.move(n, 'packed')
    await api.move(n, 'cancelled', { note: 'Card flagged <b>by the bank</b>' })
    const { mail, rcptTo } = await sink.nth(before + 1)
    const order = (await app.inject({ url: `/api/orders/${n}` })).json()
    expect(rcptTo).toEqual(['ada@example.com'])
    expect(mail.subject).toBe(`Your Trailhead Goods order ${n} is cancelled`)
    expect(mail.messageId).toMatch(
      new RegExp(`^<order-${n}\\.cancellation\\.\\d+@shop\\.example\\.com>$`),
    )
    const text = mail.text ?? ''
    const html = String(mail.html)
    expect(text).toContain(`Your order ${n} is cancelled: nothing in it will be shipped.`)
    expect(html).toContain(`Your order ${n} is cancelled</h1>`)
    expectLinesAndTotal(mail, order)
    expect(text).toContain(`See your order: ${base}/orders/${n}`)
    expect(html).toContain(`<a href="${base}/orders/${n}"`)
    // The link leads to the order's page, which says it is cancelled.
    const page = await app.inject({ url: `/orders/${n}` })
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain('<strong class="order-status">cancelled</strong>')
    // Nothing will ship: no shipping address. The note is the staff's (order history), not a
    // message to the shopper.
    for (const part of [text, html]) {
      expect(part).not.toContain('Shipping to')
      expect(part).not.toContain('by the bank')
    }
  })

  it('an order that is not cancelled gets none', async () => {
    await serverUp()
    const before = sink.received.length
    const n = await placeOrder(app, [{ sku: 'MUG-001', quantity: 1 }])
    for (const to of ['packed', 'shipped', 'delivered'] as const) await api.move(n, to)
    await sink.waitFor(before + 2)
    await expect
      .poll(() => rows(n), { timeout: 10_000 })
      .toMatchObject([
        { kind: 'confirmation', status: 'sent' },
        { kind: 'shipping', status: 'sent' },
      ])
    await new Promise((r) => setTimeout(r, 300))
    expect(await rows(n)).toHaveLength(2)
    expect(sink.received).toHaveLength(before + 2)
  })
})

describe('migration 0017', () => {
  it('widens the kind check without validating old rows; down deletes cancellations and narrows it', async () => {
    const { db, close } = await unmigratedDatabase()
    try {
      expect(
        (await (await migrator(db)).migrateTo('0016_order_email_any_case')).error,
      ).toBeUndefined()
      const insert = (kind: string, eventId: number) =>
        sql`insert into order_emails (event_id, order_id, kind, to_address)
            values (${eventId}, 1, ${kind}, 'ada@example.com')`.execute(db)
      const check = async () =>
        (
          await sql<{ def: string; validated: boolean }>`
            select pg_get_constraintdef(oid) as def, convalidated as validated from pg_constraint
            where conname = 'order_emails_kind_check'`.execute(db)
        ).rows
      await insert('confirmation', 1)
      await expect(insert('cancellation', 2)).rejects.toThrow(/order_emails_kind_check/)
      await migrateToLatest(db)
      expect(await check()).toEqual([
        { def: expect.stringContaining("'cancellation'"), validated: false },
      ])
      await insert('cancellation', 2)
      await expect(insert('refund', 3)).rejects.toThrow(/order_emails_kind_check/)

      expect(
        (await (await migrator(db)).migrateTo('0016_order_email_any_case')).error,
      ).toBeUndefined()
      const left = await sql<{ kind: string }>`select kind from order_emails`.execute(db)
      expect(left.rows).toEqual([{ kind: 'confirmation' }])
      expect(await check()).toEqual([
        { def: expect.not.stringContaining('cancellation'), validated: false },
      ])
      await expect(insert('cancellation', 4)).rejects.toThrow(/order_emails_kind_check/)
    } finally {
      await close()
    }
  })
})
