import { createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../src/app.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'
import { freePort, smtpSink } from './smtp-sink.ts'

// The SMTP server is unreachable when the orders are placed, first hanging (it takes the
// connection and never greets: a send waits up to its 20 s cut), then refusing connections: the
// orders do not wait for it, the e-mails are retried (backoff shortened to tens of milliseconds)
// and, once it is up, each arrives exactly once.
let t: TestApp
let app: App
let sink: ReturnType<typeof smtpSink>
let port: number

/** Takes connections on `port` and never answers: an SMTP server that hangs. */
async function blackHole(onPort: number): Promise<() => Promise<void>> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((s) => {
    sockets.add(s)
    s.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(onPort, '127.0.0.1', resolve))
  return async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

beforeAll(async () => {
  port = await freePort()
  sink = smtpSink(port)
  t = await buildTestApp(
    {
      RATE_LIMIT_MAX: '0',
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      PUBLIC_BASE_URL: 'https://shop.example.com',
      WEBHOOKS_POLL_MS: '20',
    },
    {
      webhookDispatcher: true,
      mailer: { sendTimeoutMs: 20_000, retry: { baseMs: 50, capMs: 200 } },
      logs: true,
    },
  )
  app = t.app
})
afterAll(async () => {
  await t?.close()
  await sink?.close()
})

const rows = () =>
  app.db
    .selectFrom('order_emails')
    .select(['id', 'status', 'attempts', 'last_error'])
    .orderBy('id')
    .execute()

describe('an SMTP server that is down', () => {
  const placed: string[] = []

  it('does not hold back placing an order', async () => {
    const closeHole = await blackHole(port)
    try {
      for (let i = 0; i < 5; i++) {
        const started = performance.now()
        placed.push(await placeOrder(app, [{ sku: 'MUG-001', quantity: 1 }]))
        // Placing an order only writes its outbox row; the hanging server (which would hold a
        // send for 20 s) is never waited for. 5 s leaves room for a loaded machine.
        expect(performance.now() - started).toBeLessThan(5000)
      }
      // Each e-mail was taken and is being sent to the hanging server: leased, attempt 1.
      await expect
        .poll(rows, { timeout: 15_000 })
        .toSatisfy(
          (r: Awaited<ReturnType<typeof rows>>) =>
            r.length === 5 && r.every((m) => m.status === 'pending' && m.attempts >= 1),
        )
    } finally {
      await closeHole()
    }
  })

  it('is retried with backoff while down, and each e-mail is delivered once it is up', async () => {
    // Queued, tried and failed more than once each, the error kept without any address.
    await expect
      .poll(rows, { timeout: 15_000 })
      .toSatisfy((r: Awaited<ReturnType<typeof rows>>) =>
        r.every(
          (m) =>
            m.status === 'pending' && m.attempts >= 3 && /ECONNREFUSED/.test(`${m.last_error}`),
        ),
      )
    const retryLines = t.lines().filter((l) => l.msg === 'order e-mail attempt failed; will retry')
    expect(retryLines.length).toBeGreaterThanOrEqual(5)
    expect(JSON.stringify(retryLines)).not.toContain('ada@example.com')
    expect(sink.received).toHaveLength(0)

    await sink.listen()
    await sink.waitFor(5)
    await expect
      .poll(rows, { timeout: 10_000 })
      .toSatisfy((r: Awaited<ReturnType<typeof rows>>) => r.every((m) => m.status === 'sent'))
    // Give any stray duplicate time to arrive: there is none.
    await new Promise((r) => setTimeout(r, 500))
    const numbers = sink.received.map(
      (m) => /order (\S+) is placed/.exec(m.mail.subject ?? '')?.[1],
    )
    expect(numbers.sort()).toEqual([...placed].sort())
    expect(new Set(sink.received.map((m) => m.mail.messageId)).size).toBe(5)
  })
})
