import { randomUUID } from 'node:crypto'
import { SMTPServer } from 'smtp-server'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'

// A mail setting that cannot work starts as "e-mails on": the start checks the SMTP server
// (without waiting for it) and warns in one line naming host:port and the reason, never the
// credentials; a send that fails for the setting or the server warns once per outage.
let refuseSender = false
// A recipient the relay refuses (`550 5.7.1 Unable to relay`) while it takes every other one.
let refusedRecipient = ''
let delivered = 0
const logins: string[] = []
const server = new SMTPServer({
  disabledCommands: ['STARTTLS'],
  allowInsecureAuth: true,
  authOptional: true,
  logger: false,
  onAuth(auth, _session, callback) {
    logins.push(auth.username ?? '')
    if (auth.password === 'right') return callback(null, { user: auth.username })
    callback(
      Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }),
    )
  },
  onMailFrom(_address, _session, callback) {
    if (refuseSender) {
      return callback(
        Object.assign(new Error('5.7.1 Sender not authorized'), { responseCode: 550 }),
      )
    }
    callback()
  },
  onRcptTo(address, _session, callback) {
    if (address.address === refusedRecipient) {
      return callback(Object.assign(new Error('5.7.1 Unable to relay'), { responseCode: 550 }))
    }
    callback()
  },
  onData(stream, _session, callback) {
    stream.resume()
    stream.on('end', () => {
      delivered++
      callback()
    })
  },
})
const listening = new Promise<number>((resolve) =>
  server.listen(0, '127.0.0.1', () => resolve((server.server.address() as { port: number }).port)),
)
let t: TestApp | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
  refuseSender = false
  refusedRecipient = ''
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

async function start(password: string) {
  const port = await listening
  t = await buildTestApp(
    {
      RATE_LIMIT_MAX: '0',
      SMTP_URL: `smtp://mailuser:${password}@127.0.0.1:${port}?requireTLS=false`,
      PUBLIC_BASE_URL: 'https://shop.example.com',
      WEBHOOKS_POLL_MS: '20',
    },
    { webhookDispatcher: true, logs: true, mailer: { retry: { baseMs: 50, capMs: 100 } } },
  )
  return { t, port }
}
const warnings = (app: TestApp) =>
  app.lines().filter((l) => l.level === 40 && /e-mails/.test(String(l.msg)))

describe('the mail setting checked', () => {
  it('a wrong password: one warning at start naming the server and the login refused', async () => {
    const { t, port } = await start('wrong-S3cret')
    await expect.poll(() => warnings(t).length, { timeout: 15_000 }).toBe(1)
    expect(warnings(t)[0]).toMatchObject({
      smtpServer: `127.0.0.1:${port}`,
      msg: expect.stringMatching(
        new RegExp(
          `^e-mails will fail: the SMTP server at 127\\.0\\.0\\.1:${port} refused the login \\(535 .*Authentication credentials invalid\\): check the user and password in SMTP_URL;`,
        ),
      ),
    })
    expect(t.output.join('')).not.toContain('wrong-S3cret')
  })

  it('smtps:// to a port that speaks plain SMTP: the warning says so, not that the server does not answer', async () => {
    const port = await listening
    t = await buildTestApp(
      { SMTP_URL: `smtps://127.0.0.1:${port}`, PUBLIC_BASE_URL: 'https://shop.example.com' },
      { webhookDispatcher: true, logs: true },
    )
    const app = t
    await expect.poll(() => warnings(app).length, { timeout: 15_000 }).toBe(1)
    expect(warnings(app)[0]?.msg).toBe(
      `e-mails will fail: the SMTP server at 127.0.0.1:${port} answers in plain text, not the TLS that smtps:// starts with (OpenSSL: wrong version number): for a port that offers STARTTLS, such as 587 or 25, write smtp://; smtps:// is for a port such as 465; they are kept and retried for 24 hours (npm run mail -- requeue-failed after that)`,
    )
  })

  it('a setting that works: no warning at start', async () => {
    const { t } = await start('right')
    const before = logins.length
    await expect.poll(() => logins.length, { timeout: 15_000 }).toBeGreaterThan(before)
    await new Promise((r) => setTimeout(r, 300))
    expect(warnings(t)).toEqual([])
  })

  it('a sender refused: one warning for the outage, not one per attempt, and again after a send', async () => {
    const { t, port } = await start('right')
    refuseSender = true
    const failed = () =>
      t.lines().filter((l) => l.msg === 'order e-mail attempt failed; will retry').length
    await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    await expect.poll(failed, { timeout: 15_000 }).toBeGreaterThanOrEqual(3)
    expect(warnings(t)).toEqual([
      expect.objectContaining({
        msg: `e-mails are failing: the SMTP server at 127.0.0.1:${port} refused the sender (550 5.7.1 Sender not authorized): set MAIL_FROM to an address on a domain this server lets the shop send from; they are kept and retried for 24 hours (npm run mail -- requeue-failed after that)`,
      }),
    ])
    refuseSender = false
    await expect
      .poll(() => t.lines().some((l) => l.msg === 'e-mails are sent again'), { timeout: 15_000 })
      .toBe(true)
    refuseSender = true
    await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    await expect.poll(() => warnings(t).length, { timeout: 15_000 }).toBe(2)
  })

  it('one recipient refused while others go out: one warning, not one per retry between sends', async () => {
    const { t } = await start('right')
    refusedRecipient = 'stuck@example.com'
    const order = async (email: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': randomUUID() },
        payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer: { ...customer, email } },
      })
      expect(res.statusCode).toBe(201)
      return res.json().orderNumber as string
    }
    const stuck = await order(refusedRecipient)
    const retries = () =>
      t.lines().filter((l) => l.orderNumber === stuck && /attempt failed/.test(String(l.msg)))
        .length
    const sent = () => t.lines().filter((l) => l.msg === 'e-mails are sent again').length
    // Another order's e-mail goes out between each of the stuck one's retries.
    for (let n = 1; n <= 4; n++) {
      await expect.poll(retries, { timeout: 15_000 }).toBeGreaterThanOrEqual(n)
      const before = delivered
      await order('ada@example.com')
      await expect.poll(() => delivered, { timeout: 15_000 }).toBeGreaterThan(before)
    }
    await expect.poll(retries, { timeout: 15_000 }).toBeGreaterThanOrEqual(5)
    expect(warnings(t)).toEqual([
      expect.objectContaining({
        msg: expect.stringMatching(/^e-mails are failing: .*\(550 5\.7\.1 Unable to relay\)/),
      }),
    ])
    expect(sent()).toBe(1)
  })
})
