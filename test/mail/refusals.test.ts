import { SMTPServer } from 'smtp-server'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { App } from '../../src/app.ts'
import { requeueFailedEmails } from '../../src/mail/queue.ts'
import { recipientRefused } from '../../src/mail/sender.ts'
import { failureReason } from '../../src/mail/transport.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'

// A real SMTP server on loopback that refuses what a test tells it to, where a real one does:
// the sender at MAIL FROM (what Azure Communication Services answers for a sender domain it has
// not verified), the recipient at RCPT TO, or the whole message after DATA. Only the recipient
// refused for good is about that e-mail: the others are the shop's setting or the server's
// state, so the e-mail is retried (backoff shortened to tens of milliseconds), and goes out
// once the server takes it. A 5xx to RCPT TO whose enhanced status code is a policy one
// (5.7.1 Unable to relay, RFC 3463) is the relay refusing the shop, not the recipient's mailbox.
type Refusal = 'none' | 'sender' | 'recipient' | 'relay' | 'message'
let refuse: Refusal = 'none'
let delivered = 0
const refused = (text: string, code: number) =>
  Object.assign(new Error(text), { responseCode: code })
const server = new SMTPServer({
  disabledCommands: ['STARTTLS', 'AUTH'],
  authOptional: true,
  logger: false,
  onMailFrom(_address, _session, callback) {
    if (refuse === 'sender') return callback(refused('5.7.1 Sender not authorized', 550))
    callback()
  },
  onRcptTo(address, _session, callback) {
    if (refuse === 'recipient') {
      return callback(refused(`5.1.1 <${address.address}>: mailbox unavailable`, 550))
    }
    if (refuse === 'relay') return callback(refused('5.7.1 Unable to relay', 550))
    callback()
  },
  onData(stream, _session, callback) {
    stream.resume()
    stream.on('end', () => {
      if (refuse === 'message') return callback(refused('5.7.1 Message refused by policy', 554))
      delivered++
      callback()
    })
  },
})

let t: TestApp
let app: App
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.server.address() as { port: number }
  t = await buildTestApp(
    {
      RATE_LIMIT_MAX: '0',
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      PUBLIC_BASE_URL: 'https://shop.example.com',
      WEBHOOKS_POLL_MS: '20',
    },
    { webhookDispatcher: true, mailer: { retry: { baseMs: 50, capMs: 100 } } },
  )
  app = t.app
})
afterAll(async () => {
  await t?.close()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})
beforeEach(() => {
  refuse = 'none'
})

/** The e-mail of `orderNumber`'s confirmation, as stored. */
const row = async (orderNumber: string) =>
  (await app.db
    .selectFrom('order_emails as m')
    .innerJoin('orders as o', 'o.id', 'm.order_id')
    .select(['m.status', 'm.attempts', 'm.last_error'])
    .where('o.order_number', '=', orderNumber)
    .executeTakeFirst()) ?? { status: 'none', attempts: 0, last_error: null }

/** The text of `orderNumber`'s confirmation page, tags removed. */
const pageText = async (orderNumber: string) => {
  const page = await app.inject({ url: `/orders/${orderNumber}` })
  expect(page.statusCode).toBe(200)
  return page.body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ')
}
const couldNotEmail =
  "We could not e-mail you at ada@example.com. Keep this page's address: it shows your order's current status."

describe('an SMTP server that refuses', () => {
  it.each([
    ['the sender at MAIL FROM (550 5.7.1)', 'sender', /Sender not authorized/],
    ['the relay at RCPT TO (550 5.7.1)', 'relay', /Unable to relay/],
    ['the whole message after DATA (554)', 'message', /Message refused/],
  ] as const)(
    '%s: retried, not given up, and sent once the server takes it',
    async (_, what, error) => {
      refuse = what
      const before = delivered
      const orderNumber = await placeOrder(app, [{ sku: 'MUG-001', quantity: 1 }])
      await expect
        .poll(() => row(orderNumber), { timeout: 15_000 })
        .toSatisfy(
          (r: Awaited<ReturnType<typeof row>>) =>
            r.status === 'failed' || r.status === 'sent' || r.attempts >= 3,
        )
      const r = await row(orderNumber)
      expect(r.status).toBe('pending')
      expect(r.last_error).toMatch(error)
      refuse = 'none'
      await expect
        .poll(async () => (await row(orderNumber)).status, { timeout: 15_000 })
        .toBe('sent')
      expect(delivered).toBe(before + 1)
    },
  )

  it('the recipient at RCPT TO (550): failed after one attempt, and queued again on demand', async () => {
    refuse = 'recipient'
    const orderNumber = await placeOrder(app, [{ sku: 'MUG-001', quantity: 1 }])
    await expect
      .poll(async () => (await row(orderNumber)).status, { timeout: 15_000 })
      .toBe('failed')
    const r = await row(orderNumber)
    expect(r.attempts).toBe(1)
    expect(r.last_error).toMatch(/mailbox unavailable/)
    expect(r.last_error).not.toContain('ada@example.com')
    // The order's page no longer promises e-mails that cannot come: it says so, and that the
    // page shows the status.
    expect(await pageText(orderNumber)).not.toContain('send updates')
    expect(await pageText(orderNumber)).toContain(couldNotEmail)

    // An order older than the bound keeps its failed e-mail; a recent one is queued again, due
    // at once with a new 24 hours to go, and is sent now that the server takes it.
    const old = await placeOrder(app, [{ sku: 'MUG-001', quantity: 1 }])
    await expect.poll(async () => (await row(old)).status, { timeout: 15_000 }).toBe('failed')
    // Shipped since (its shipping e-mail may well have gone out): the page promises nothing and
    // no longer says the e-mail failed, only where the status shows.
    await app.db
      .updateTable('orders')
      .set({
        created_at: new Date(Date.now() - 8 * 86_400_000),
        status: 'shipped',
        carrier: 'UPS',
        tracking_number: '1Z999AA10123456784',
      })
      .where('order_number', '=', old)
      .execute()
    expect(await pageText(old)).not.toMatch(/could not|send updates/)
    expect(await pageText(old)).toContain("Keep this page's address")
    refuse = 'none'
    const before = delivered
    expect(await requeueFailedEmails(app.db, 7)).toBe(1)
    await expect.poll(async () => (await row(orderNumber)).status, { timeout: 15_000 }).toBe('sent')
    expect(await row(orderNumber)).toMatchObject({ attempts: 2 })
    expect(await pageText(orderNumber)).toContain("We'll send updates to ada@example.com.")
    expect(await pageText(orderNumber)).not.toContain('could not')
    expect((await row(old)).status).toBe('failed')
    expect(delivered).toBe(before + 1)
    // Nothing failed is left within the bound: a second run queues none.
    expect(await requeueFailedEmails(app.db, 7)).toBe(0)
  })
})

describe('a 5xx to RCPT TO, by its enhanced status code (RFC 3463)', () => {
  const rcpt = (response: string) => ({
    code: 'EENVELOPE',
    command: 'RCPT TO',
    response,
    responseCode: Number(response.slice(0, 3)),
  })
  it.each([
    ['550 5.1.1 <a@example.com>: mailbox unavailable', true],
    ['552 5.2.2 mailbox full', true],
    ['550 No such user here', true],
    ['550 5.7.1 Unable to relay', false],
    ['554 5.3.0 mail system error', false],
    ['450 4.2.1 try later', false],
  ])('%s: about the recipient alone: %s', (response, alone) => {
    expect(recipientRefused(rcpt(response))).toBe(alone)
  })
  it('a relay refusal says what to check', () => {
    expect(failureReason(rcpt('550 5.7.1 Unable to relay'))).toMatch(
      /does not relay for the shop; check the user in SMTP_URL and MAIL_FROM/,
    )
  })
})
