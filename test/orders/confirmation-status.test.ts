// The confirmation page (/orders/:n) as the order moves on. A cancelled order's page said
// "We'll send updates to …" and "No sales counted in <state> yet. Yours will be among the
// first." (its sales are taken out of the counts). Now it says it is cancelled as the
// cancellation e-mail does ("nothing in it will be shipped", no refund promised), and promises
// e-mails only while one is still to come (placed, packed: the shipping or cancellation
// e-mail). The sales fold is off here, so no state has sales counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../src/app.ts'
import type { OrderStatus } from '../../src/lifecycle/transitions.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { lifecycleApi, pathTo, placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

let mailOn: TestApp
let mailOff: TestApp
beforeAll(async () => {
  // SMTP_URL set: the page may promise e-mails. Nothing is sent: no dispatcher, no mailer.
  mailOn = await buildTestApp(
    { SMTP_URL: 'smtp://127.0.0.1:4599', PUBLIC_BASE_URL: 'https://shop.example.com' },
    { mailer: false },
  )
  mailOff = await buildTestApp({}, { mailer: false })
})
afterAll(async () => {
  await mailOn?.close()
  await mailOff?.close()
})

/** The text of an order's page at `status` (moved there through the staff API), tags removed. */
async function pageAt(app: App, status: OrderStatus): Promise<string> {
  const orderNumber = await placeOrder(app, [{ sku: 'MUG-001', quantity: 1 }], 'WY')
  const api = lifecycleApi(
    app,
    await addToken(app, await addStaff(app, `${status}-${Date.now()}@example.com`)),
  )
  for (const step of pathTo[status]) await api.move(orderNumber, step)
  const res = await app.inject({ url: `/orders/${orderNumber}`, headers: { accept: 'text/html' } })
  expect(res.statusCode).toBe(200)
  return res.body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ')
}

const updates = `We'll send updates to ${customer.email}.`
const keepAddress = "Keep this page's address: it shows your order's current status."
const noSales = 'No sales counted in Wyoming yet.'
const amongFirst = 'Yours will be among the first.'
const cancelled = 'This order is cancelled: nothing in it will be shipped.'

describe('the confirmation page', () => {
  it('of a placed order thanks, promises updates by e-mail (mail on) and counts it among the first', async () => {
    const text = await pageAt(mailOn.app, 'placed')
    expect(text).toContain('Thank you, your order is placed')
    expect(text).toContain('Shipping to')
    expect(text).toContain(updates)
    expect(text).toContain(`${noSales} ${amongFirst}`)
    expect(text).not.toContain('cancelled')
    const off = await pageAt(mailOff.app, 'placed')
    expect(off).toContain(keepAddress)
    expect(off).not.toContain(customer.email)
  })

  it('of a cancelled order says so, promises no update, no shipping and no place in the counts', async () => {
    for (const app of [mailOn.app, mailOff.app]) {
      const text = await pageAt(app, 'cancelled')
      expect(text).toContain('Status: cancelled .')
      expect(text).toContain(cancelled)
      expect(text).not.toContain('Thank you')
      expect(text).not.toContain('send updates')
      expect(text).not.toContain(keepAddress)
      expect(text).not.toContain('Shipping to')
      expect(text).not.toContain(customer.address)
      expect(text).not.toMatch(/refund/i)
      expect(text).toContain(noSales)
      expect(text).not.toContain(amongFirst)
    }
  })

  it('promises e-mails while one is still to come: packed yes; shipped and delivered no', async () => {
    const packed = await pageAt(mailOn.app, 'packed')
    expect(packed).toContain(updates)
    expect(packed).toContain(amongFirst)
    for (const status of ['shipped', 'delivered'] as const) {
      const text = await pageAt(mailOn.app, status)
      expect(text, status).toContain('Shipped with UPS')
      expect(text, status).toContain('Shipping to')
      expect(text, status).not.toContain('send updates')
      expect(text, status).toContain(keepAddress)
      expect(text, status).not.toContain(cancelled)
    }
  })
})
