import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { lifecycleApi, placeOrder } from '../helpers/lifecycle.ts'
import { consumeEvents } from '../helpers/outbox.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

// Without SMTP_URL the fan-out queues no e-mail and the log says so once, at start.
let t: TestApp | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

const mailLines = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => /e-mail/i.test(String(l.msg)))

describe('mail off', () => {
  // Empty is unset: what the ARM template deploys with smtpUrl and mailFrom at their default ''.
  it.each([
    ['without SMTP_URL', {}],
    ['with SMTP_URL and MAIL_FROM empty', { SMTP_URL: '', MAIL_FROM: '' }],
  ])(
    '%s: no e-mail queued while events (a cancel too) are fanned out, one log line',
    async (_, mail) => {
      t = await buildTestApp(
        { RATE_LIMIT_MAX: '0', WEBHOOKS_POLL_MS: '20', ...mail },
        { webhookDispatcher: true, logs: true },
      )
      const app = t.app
      // An endpoint that wants order.placed, so the events are written and wait for the fan-out
      // (with no consumer at all, mail off, order.placed is not written).
      await consumeEvents(app.db)
      const cancelled = await placeOrder(app, [{ sku: 'MUG-001', quantity: 1 }])
      const kept = await placeOrder(app, [{ sku: 'MUG-001', quantity: 2 }])
      // The confirmation page promises no e-mail, nor shows the address as if one were coming.
      const page = await app.inject({ url: `/orders/${kept}`, headers: { accept: 'text/html' } })
      expect(page.statusCode).toBe(200)
      expect(page.body).not.toContain('send updates')
      expect(page.body).not.toContain(customer.email)
      expect(page.body).toContain("Keep this page's address: it shows your order's current status.")
      const api = lifecycleApi(app, await addToken(app, await addStaff(app, 'clerk@example.com')))
      await api.move(cancelled, 'cancelled')
      // The dispatcher has taken every event (the e-mails would have been queued then).
      await expect
        .poll(
          async () =>
            (
              await sql<{ n: number }>`select count(*)::int as n from outbox
              where fanned_out_at is null`.execute(app.db)
            ).rows[0]?.n,
          { timeout: 10_000 },
        )
        .toBe(0)
      const events = await sql<{ type: string; n: number }>`
      select event_type as type, count(*)::int as n from outbox
      where event_type in ('order.placed', 'order.cancelled') group by 1 order by 1`.execute(app.db)
      expect(events.rows).toEqual([
        { type: 'order.cancelled', n: 1 },
        { type: 'order.placed', n: 2 },
      ])
      const queued = await app.db
        .selectFrom('order_emails')
        .select((e) => e.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
      expect(Number(queued.n)).toBe(0)
      expect(mailLines(t.lines())).toEqual([
        expect.objectContaining({
          level: 30,
          msg: 'e-mails off: SMTP_URL is not set, so no order e-mail is queued or sent',
        }),
      ])
    },
  )

  it('with WEBHOOKS_DISPATCH=off: this instance sends none, and says so once', async () => {
    t = await buildTestApp(
      {
        SMTP_URL: 'smtp://user:secret-password@127.0.0.1:2525',
        PUBLIC_BASE_URL: 'https://shop.example.com',
        WEBHOOKS_DISPATCH: 'off',
      },
      { webhookDispatcher: true, logs: true },
    )
    const lines = mailLines(t.lines())
    expect(lines).toEqual([
      expect.objectContaining({
        smtpServer: '127.0.0.1:2525',
        msg: 'e-mails on, but this instance sends none (WEBHOOKS_DISPATCH=off): instances that dispatch send them',
      }),
    ])
    // The SMTP credentials are never logged.
    expect(t.output.join('')).not.toContain('secret-password')
  })
})
