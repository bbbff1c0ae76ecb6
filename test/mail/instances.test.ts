import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../src/app.ts'
import { appsOnOneDatabase, usingPostgres } from '../helpers/context.ts'
import { lifecycleApi, placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, addToken } from '../helpers/staff.ts'
import { smtpSink } from './smtp-sink.ts'

const orders = 40
const shipped = 12

// Two apps on one PostgreSQL database (PGlite cannot be shared), each fanning out and sending
// e-mails, to one slow SMTP server: every e-mail is sent once, by one of them.
describe.skipIf(!usingPostgres)('two instances sending e-mails (PostgreSQL only)', () => {
  const sink = smtpSink(0, { delayMs: 250 })
  let apps: App[]
  let close: () => Promise<void>
  beforeAll(async () => {
    await sink.listen()
    ;({ apps, close } = await appsOnOneDatabase(
      2,
      {
        RATE_LIMIT_MAX: '0',
        SMTP_URL: sink.url,
        PUBLIC_BASE_URL: 'https://shop.example.com',
        WEBHOOKS_POLL_MS: '20',
      },
      // Small batches, so both instances fan out and send, interleaved.
      { salesFold: false, webhookDispatcher: { fanOutBatch: 5 }, mailer: { batch: 2 } },
    ))
  })
  afterAll(async () => {
    await close?.()
    await sink.close()
  })

  it('sends each confirmation and shipping e-mail exactly once', async () => {
    const [a, b] = apps as [App, App]
    const placed = await Promise.all(
      Array.from({ length: orders }, (_, i) =>
        placeOrder(i % 2 ? a : b, [{ sku: 'MUG-001', quantity: 1 }]),
      ),
    )
    const api = lifecycleApi(a, await addToken(a, await addStaff(a, 'clerk@example.com')))
    for (const n of placed.slice(0, shipped)) {
      await api.move(n, 'packed')
      await api.move(n, 'shipped')
    }
    await sink.waitFor(orders + shipped, 60_000)
    await expect
      .poll(
        async () =>
          (
            await sql<{ status: string; n: number }>`
              select status, count(*)::int as n from order_emails group by status`.execute(a.db)
          ).rows,
        { timeout: 20_000 },
      )
      .toEqual([{ status: 'sent', n: orders + shipped }])
    await new Promise((r) => setTimeout(r, 500))
    expect(sink.received).toHaveLength(orders + shipped)
    const ids = sink.received.map((m) => m.mail.messageId)
    expect(new Set(ids).size).toBe(orders + shipped)
    const subjects = sink.received.map((m) => m.mail.subject ?? '')
    for (const n of placed) expect(subjects).toContain(`Your Trailhead Goods order ${n} is placed`)
    for (const n of placed.slice(0, shipped)) {
      expect(subjects).toContain(`Your Trailhead Goods order ${n} has shipped`)
    }
    // Each order's shipping e-mail arrived after its confirmation.
    for (const n of placed.slice(0, shipped)) {
      expect(subjects.indexOf(`Your Trailhead Goods order ${n} is placed`)).toBeLessThan(
        subjects.indexOf(`Your Trailhead Goods order ${n} has shipped`),
      )
    }
    // No e-mail was taken twice: one attempt each.
    const attempts = await sql<{ n: number }>`
      select count(*)::int as n from order_emails where attempts <> 1`.execute(a.db)
    expect(attempts.rows[0]?.n).toBe(0)
  })
})
