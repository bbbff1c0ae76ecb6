import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import type { Config } from '../../src/config.ts'
import { connect } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { startMailSender } from '../../src/mail/sender.ts'
import { type MailSettings, mailSettings } from '../../src/mail/settings.ts'
import { customer, testDatabase } from '../helpers/context.ts'
import { waitFor } from '../helpers/insights.ts'
import { logLines, type ServerProcess, startServer } from '../helpers/server.ts'
import { insertEndpoint, type Receiver, startReceiver } from '../helpers/webhook-receiver.ts'
import { smtpSink } from '../mail/smtp-sink.ts'

// SIGTERM while a webhook send and an e-mail send are both in flight, each to a peer that never
// answers: the dispatcher and the mail sender stop side by side within one grace (half of
// SHUTDOWN_TIMEOUT_MS), both hand their leases back, the pool (the embedded database) closes,
// and the process exits 0 before SHUTDOWN_TIMEOUT_MS. They used to stop one after the other,
// each with its own grace (the mail sender a fixed 5 s): past the timeout, exit 1, the e-mail
// held for its 2-minute lease, and on the embedded database its sequences jumped by 32.
const timeoutMs = 6000

describe('stopping with a webhook and an e-mail in flight', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ops-shutdown-sends-'))
  const cleanups: (() => Promise<unknown>)[] = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })

  it('stops both within one grace, hands both leases back and exits 0; the e-mail is sent again at once', async () => {
    const database = await testDatabase()
    cleanups.push(database.drop)
    const databaseUrl = database.env.DATABASE_URL
    const dataDir = join(dir, 'data')
    const dbEnv: Record<string, string> = databaseUrl
      ? { DATABASE_URL: databaseUrl }
      : { DATA_DIR: dataDir }
    const open = () => connect({ databaseUrl, dataDir, poolSize: 2 })

    const receiver: Receiver = await startReceiver(() => 'stall')
    cleanups.push(receiver.close)
    const silent = await smtpSink(0, { hang: true }).listen()
    cleanups.push(silent.close)
    // The endpoint exists before the service starts (the embedded database is one process's).
    const setup = open()
    try {
      await migrateToLatest(setup)
      await insertEndpoint(setup, receiver.url, ['order.placed'])
    } finally {
      await setup.destroy()
    }

    const env = {
      ...dbEnv,
      RATE_LIMIT_MAX: '0',
      SHUTDOWN_TIMEOUT_MS: String(timeoutMs),
      WEBHOOKS_ALLOW_LOCAL: 'true',
      WEBHOOKS_POLL_MS: '50',
      PUBLIC_BASE_URL: 'https://shop.example.com',
    }
    const first: ServerProcess = await startServer({ ...env, SMTP_URL: silent.url })
    cleanups.push(() => first.kill())
    const placed = await fetch(`${first.url}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ items: [{ sku: 'MUG-001', quantity: 1 }], customer }),
    })
    expect(placed.status).toBe(201)
    // Both in flight: the receiver has the request, the SMTP server the whole message.
    await waitFor(
      async () => receiver.received.length === 1 && silent.received.length === 1,
      30_000,
    )

    const signalled = performance.now()
    first.proc.kill('SIGTERM')
    const exit = await first.exited
    const tookMs = performance.now() - signalled
    const lines = logLines(first.stdout)
    expect(exit, first.output().slice(-5000)).toEqual({ code: 0, signal: null })
    expect(lines.filter((l) => String(l.msg).startsWith('killed by timeout'))).toEqual([])
    // Half of SHUTDOWN_TIMEOUT_MS for the sends, then the leases, the pool and the exit.
    expect(tookMs).toBeGreaterThanOrEqual(timeoutMs / 2 - 100)
    expect(tookMs).toBeLessThan(timeoutMs)

    const check = open()
    try {
      const { rows } = await sql<{
        what: string
        status: string
        attempts: number
        due: boolean
        last_error: string
      }>`
        select 'email' as what, status, attempts, next_attempt_at <= now() as due, last_error
        from order_emails
        union all
        select 'delivery', status, attempts, next_attempt_at <= now(), last_error
        from webhook_deliveries
        order by what
      `.execute(check)
      // Both handed back: due now, for the next start (or any instance); the attempt counts.
      expect(rows).toEqual([
        {
          what: 'delivery',
          status: 'pending',
          attempts: 1,
          due: true,
          last_error: 'abandoned: the dispatcher stopped',
        },
        {
          what: 'email',
          status: 'pending',
          attempts: 1,
          due: true,
          last_error: 'abandoned: the mail sender stopped',
        },
      ])
      // A clean close: the embedded database's sequences go on from where they were (after a
      // kill they resume 32 further on, from what was written ahead to the log).
      const { rows: seq } = await sql<{ last: string; next: string }>`
        select (select max(id) from orders)::text as last,
               nextval(pg_get_serial_sequence('orders', 'id'))::text as next
      `.execute(check)
      expect(Number(seq[0]?.next)).toBe(Number(seq[0]?.last) + 1)

      // What the next start runs, the SMTP server answering now: the mail sender takes the
      // e-mail at once (held for its 2-minute lease, it would wait), sends it once, as the same
      // message (same Message-ID) the silent server had taken.
      const sink = await smtpSink().listen()
      cleanups.push(sink.close)
      const settings = mailSettings({
        SMTP_URL: sink.url,
        PUBLIC_BASE_URL: env.PUBLIC_BASE_URL,
      } as Config)
      const sender = startMailSender(check, settings as MailSettings, {
        pollMs: 20,
        onError: () => {},
      })
      try {
        const resent = await sink.nth(0, 5000)
        expect(resent.mail.messageId).toBe(silent.received[0]?.mail.messageId)
        await waitFor(async () => sender.stats.sent === 1, 5000)
      } finally {
        await sender.stop()
      }
      expect(sink.received).toHaveLength(1)
      const email = await check
        .selectFrom('order_emails')
        .select(['status', 'attempts'])
        .executeTakeFirst()
      expect(email).toEqual({ status: 'sent', attempts: 2 })
    } finally {
      await check.destroy()
    }
    // An embedded database made in a folder, then a child process's start on it: on 2 busy
    // cores (another such file beside this one, load 16) that took 100 s of the 120 s default.
  }, 240_000)
})
