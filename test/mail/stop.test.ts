import { createServer, type Socket } from 'node:net'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import type { App } from '../../src/app.ts'
import { appsOnOneDatabase, usingPostgres } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'

// An instance that stops while an e-mail is in flight to a server that never answers hands the
// e-mail's lease back (due at once, for any instance) instead of holding it for its 2 minutes.
// PostgreSQL only: the row is read after the app has closed.
describe.skipIf(!usingPostgres)('stopping the mail sender mid-send (PostgreSQL only)', () => {
  const sockets = new Set<Socket>()
  const hole = createServer((s) => {
    sockets.add(s)
    s.on('error', () => {})
  })
  let close: (() => Promise<void>) | undefined
  afterAll(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => hole.close(() => resolve()))
    await close?.()
  })

  it('hands the lease back within the grace period; the attempt still counts', async () => {
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve))
    const { port } = hole.address() as { port: number }
    const started = await appsOnOneDatabase(
      1,
      {
        RATE_LIMIT_MAX: '0',
        SMTP_URL: `smtp://127.0.0.1:${port}`,
        PUBLIC_BASE_URL: 'https://shop.example.com',
        WEBHOOKS_POLL_MS: '20',
      },
      { salesFold: false, webhookDispatcher: true, mailer: { stopGraceMs: 300 } },
    )
    close = started.close
    const app = started.apps[0] as App
    await placeOrder(app, [{ sku: 'MUG-001', quantity: 1 }])
    const client = new pg.Client({ connectionString: started.databaseUrl })
    await client.connect()
    try {
      const row = async () =>
        (
          await client.query<{
            attempts: number
            status: string
            leased: boolean
            last_error: string | null
          }>(
            `select attempts, status, next_attempt_at > now() + interval '10 seconds' as leased,
                    last_error from order_emails`,
          )
        ).rows[0]
      // In flight: taken and leased (its 2-minute lease), the server silent.
      await expect.poll(row, { timeout: 10_000 }).toMatchObject({ attempts: 1, leased: true })
      const stopping = performance.now()
      await app.close()
      expect(performance.now() - stopping).toBeLessThan(5000)
      expect(await row()).toEqual({
        attempts: 1,
        status: 'pending',
        leased: false,
        last_error: 'abandoned: the mail sender stopped',
      })
    } finally {
      await client.end()
    }
  })
})
