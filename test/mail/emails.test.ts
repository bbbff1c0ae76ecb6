import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../src/app.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { lifecycleApi, placeOrder, shipping } from '../helpers/lifecycle.ts'
import { addStaff, addToken } from '../helpers/staff.ts'
import { expectLinesAndTotal, smtpSink } from './smtp-sink.ts'

// The real app with its dispatcher and mail sender, sending to a real SMTP server on loopback.
const sink = smtpSink()
let t: TestApp
let app: App
const base = 'https://shop.example.com'

beforeAll(async () => {
  await sink.listen()
  t = await buildTestApp(
    {
      RATE_LIMIT_MAX: '0',
      SMTP_URL: sink.url,
      PUBLIC_BASE_URL: `${base}/`,
      MAIL_FROM: 'Trailhead Goods <orders@shop.example.com>',
      WEBHOOKS_POLL_MS: '20',
    },
    { webhookDispatcher: true },
  )
  app = t.app
})
afterAll(async () => {
  await t?.close()
  await sink.close()
})

async function emailRows(orderNumber: string) {
  return app.db
    .selectFrom('order_emails as m')
    .innerJoin('orders as o', 'o.id', 'm.order_id')
    .select(['m.kind', 'm.status', 'm.attempts', 'm.to_address', 'm.sent_at'])
    .where('o.order_number', '=', orderNumber)
    .orderBy('m.id')
    .execute()
}

describe('order e-mails', () => {
  it('an order placed: the confirmation arrives with its number, lines, total, address and link', async () => {
    const before = sink.received.length
    const orderNumber = await placeOrder(app, [
      { sku: 'MUG-001', quantity: 2 },
      { sku: 'TEE-002', quantity: 1 },
    ])
    const order = (await app.inject({ url: `/api/orders/${orderNumber}` })).json()
    const { mail, rcptTo } = await sink.nth(before)
    expect(rcptTo).toEqual([customer.email])
    expect(mail.from?.value).toEqual([
      { name: 'Trailhead Goods', address: 'orders@shop.example.com' },
    ])
    expect(mail.subject).toBe(`Your Trailhead Goods order ${orderNumber} is placed`)
    expect(mail.messageId).toMatch(
      new RegExp(`^<order-${orderNumber}\\.confirmation\\.\\d+@shop\\.example\\.com>$`),
    )
    const link = `${base}/orders/${orderNumber}`
    const text = mail.text ?? ''
    const html = String(mail.html)
    expectLinesAndTotal(mail, order)
    for (const part of [customer.name, customer.address, 'Austin, TX 78701']) {
      expect(text).toContain(part)
      expect(html).toContain(part)
    }
    expect(text).toContain(`See your order: ${link}`)
    expect(html).toContain(`<a href="${link}"`)
    // The link leads to the order's page, which says e-mails go to the shopper (mail is on).
    const page = await app.inject({ url: new URL(link).pathname })
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain(`We'll send updates to ${customer.email}.`)
    await expect
      .poll(() => emailRows(orderNumber), { timeout: 10_000 })
      .toMatchObject([
        { kind: 'confirmation', status: 'sent', attempts: 1, to_address: customer.email },
      ])
  })

  it('shipping the order: the shipping e-mail arrives with the carrier and tracking number', async () => {
    const api = lifecycleApi(app, await addToken(app, await addStaff(app, 'clerk@example.com')))
    const orderNumber = await placeOrder(app, [{ sku: 'MUG-001', quantity: 1 }])
    await expect
      .poll(() => emailRows(orderNumber), { timeout: 10_000 })
      .toMatchObject([{ status: 'sent' }])
    const count = sink.received.length
    await api.move(orderNumber, 'packed')
    await api.move(orderNumber, 'shipped')
    const { mail } = await sink.nth(count)
    expect(mail.subject).toBe(`Your Trailhead Goods order ${orderNumber} has shipped`)
    expect(mail.messageId).toMatch(new RegExp(`^<order-${orderNumber}\\.shipping\\.\\d+@`))
    expect(mail.text).toContain(`Carrier: ${shipping.carrier}`)
    expect(mail.text).toContain(`Tracking number: ${shipping.trackingNumber}`)
    expect(String(mail.html)).toContain(
      `with <strong>${shipping.carrier}</strong>, tracking number <strong>${shipping.trackingNumber}</strong>`,
    )
    expect(mail.text).toContain(`${base}/orders/${orderNumber}`)
    await expect
      .poll(() => emailRows(orderNumber), { timeout: 10_000 })
      .toMatchObject([
        { kind: 'confirmation', status: 'sent' },
        { kind: 'shipping', status: 'sent', attempts: 1 },
      ])
    // Packed made no e-mail; nothing more arrives.
    await new Promise((r) => setTimeout(r, 300))
    expect(sink.received.length).toBe(count + 1)
  })

  it('escapes what the shopper typed in the HTML part', async () => {
    const before = sink.received.length
    const res = await app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': 'escape-1' },
      payload: {
        items: [{ sku: 'MUG-001', quantity: 1 }],
        customer: {
          ...customer,
          name: 'Ada <b>Love</b> & "Co"',
          address: '1 <script>x</script> St',
        },
      },
    })
    expect(res.statusCode).toBe(201)
    const { mail } = await sink.nth(before)
    const html = String(mail.html)
    expect(html).toContain('Ada &lt;b&gt;Love&lt;/b&gt; &amp; &quot;Co&quot;')
    expect(html).toContain('1 &lt;script&gt;x&lt;/script&gt; St')
    expect(html).not.toContain('<script>')
    expect(mail.text).toContain('Ada <b>Love</b> & "Co"')
  })

  it('counts them on /metrics: sent by this process, none pending', async () => {
    await expect
      .poll(
        async () =>
          (await app.db.selectFrom('order_emails').select('status').execute()).every(
            (r) => r.status === 'sent',
          ),
        { timeout: 10_000 },
      )
      .toBe(true)
    const body = (await app.inject({ url: '/metrics' })).body
    expect(body).toMatch(new RegExp(`^order_emails_sent_total ${sink.received.length}$`, 'm'))
    expect(body).toMatch(/^order_emails_pending 0$/m)
    expect(body).toMatch(/^order_email_oldest_pending_seconds 0$/m)
    expect(body).toMatch(/^order_emails_failed_total 0$/m)
  })
})
