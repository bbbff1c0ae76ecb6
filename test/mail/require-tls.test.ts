import { SMTPServer } from 'smtp-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'

// smtp:// with a user and password to a server that offers no STARTTLS but takes a login: the
// password went in the clear (AUTH PLAIN, secure false) and the e-mail with it. Now the send
// fails, is retried like any failure, and no login is ever tried.
const logins: { user: string; secure: boolean }[] = []
let delivered = 0
const server = new SMTPServer({
  disabledCommands: ['STARTTLS'],
  allowInsecureAuth: true,
  logger: false,
  onAuth(auth, session, callback) {
    logins.push({ user: auth.username ?? '', secure: session.secure })
    callback(null, { user: auth.username })
  },
  onData(stream, _session, callback) {
    stream.resume()
    stream.on('end', () => {
      delivered++
      callback()
    })
  },
})
let t: TestApp
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.server.address() as { port: number }
  t = await buildTestApp(
    {
      RATE_LIMIT_MAX: '0',
      SMTP_URL: `smtp://mailuser:S3cretPass@127.0.0.1:${port}`,
      PUBLIC_BASE_URL: 'https://shop.example.com',
      WEBHOOKS_POLL_MS: '20',
    },
    { webhookDispatcher: true, mailer: { retry: { baseMs: 50, capMs: 100 } } },
  )
})
afterAll(async () => {
  await t?.close()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

describe('smtp:// with credentials and no STARTTLS on offer', () => {
  it('sends no password and no e-mail in the clear', async () => {
    await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    const row = async () =>
      (await t.app.db
        .selectFrom('order_emails')
        .select(['status', 'attempts', 'last_error'])
        .executeTakeFirst()) ?? { status: 'none', attempts: 0, last_error: null }
    // Settled: sent (before), or tried and refused for want of STARTTLS.
    await expect
      .poll(
        async () => {
          const r = await row()
          return r.status === 'sent' || r.last_error !== null
        },
        { timeout: 15_000 },
      )
      .toBe(true)
    expect(logins).toEqual([])
    expect(delivered).toBe(0)
    expect((await row()).last_error).toMatch(/STARTTLS/i)
  })
})
