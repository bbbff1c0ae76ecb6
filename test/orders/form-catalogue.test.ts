import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keepShownPrices } from '../../src/orders/form-catalogue.ts'
import type { AdminProduct } from '../../src/products/schemas.ts'
import { buildTestApp, customer, postOrderForm, prices, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

// The order form's catalogue is read at most once a second. A price changed within that second
// (here, or by another worker or instance: a straight UPDATE stands for those) is on the page a
// shopper submits while the cache still holds the old one: a form shown again must not tell the
// shopper the price went back, nor put the old price back in its hidden field (a newcomer's review).
let t: TestApp
let token: string
beforeAll(async () => {
  t = await buildTestApp()
  token = await addToken(t.app, await addStaff(t.app, 'pricer@example.com', 'admin'))
})
afterAll(() => t?.close())

const html = { accept: 'text/html' }
const submit = (fields: Record<string, string>) => postOrderForm(t.app, fields)
const { of: priceOf, set: setPrice } = prices(() => t.app.db)
const patchPrice = (sku: string, priceCents: number) =>
  t.app.inject({
    method: 'PATCH',
    url: `/api/admin/products/${sku}`,
    headers: { authorization: `Bearer ${token}` },
    payload: { priceCents },
  })
/** Reads the form's catalogue into its one-second cache, as any shopper's page does. */
const warmCache = async () =>
  expect((await t.app.inject({ url: '/', headers: html })).statusCode).toBe(200)

describe('a form shown again within a second of a price change', () => {
  it('answers a bad ZIP with the ZIP alone, keeping the new price (changed through the API)', async () => {
    const was = await priceOf('BTL-005')
    await warmCache()
    expect((await patchPrice('BTL-005', was + 200)).statusCode).toBe(200)
    try {
      const res = await submit({
        ...customer,
        zip: '1',
        'qty-BTL-005': '1',
        'price-BTL-005': String(was + 200),
        idempotencyKey: randomUUID(),
      })
      expect(res.statusCode).toBe(400)
      expect(res.body).toContain('id="zip-error"')
      expect(res.body).not.toContain('Since this page was shown')
      expect(res.body).not.toContain('id="qty-BTL-005-error"')
      expect(res.body).toContain(`name="price-BTL-005" value="${was + 200}"`)
    } finally {
      await setPrice('BTL-005', was)
    }
  })

  it('answers a reused key with other quantities (422) without a price moving back (another instance)', async () => {
    const was = await priceOf('LMP-006')
    const key = randomUUID()
    await warmCache()
    await setPrice('LMP-006', was + 300)
    try {
      const fields = { ...customer, 'price-LMP-006': String(was + 300), idempotencyKey: key }
      const placed = await submit({ ...fields, 'qty-LMP-006': '1' })
      expect(placed.statusCode).toBe(303)
      const reused = await submit({ ...fields, 'qty-LMP-006': '2' })
      expect(reused.statusCode).toBe(422)
      expect(reused.body).toContain('This form already placed order')
      expect(reused.body).not.toContain('Since this page was shown')
      expect(reused.body).toContain(`name="price-LMP-006" value="${was + 300}"`)
    } finally {
      await setPrice('LMP-006', was)
    }
  })

  it('still names a price changed since an older page was shown, at the price of the moment', async () => {
    const was = await priceOf('MUG-001')
    await warmCache() // the cache holds `was`, or a price older still
    await setPrice('MUG-001', was + 400) // changed within the second
    try {
      // A page from before, showing a price that is neither the cached one nor the current one.
      const res = await submit({
        ...customer,
        zip: '1',
        'qty-MUG-001': '1',
        'price-MUG-001': String(was - 100),
        idempotencyKey: randomUUID(),
      })
      expect(res.statusCode).toBe(400)
      const dollars = (cents: number) => `$${(cents / 100).toFixed(2)}`
      expect(res.body).toContain(
        `the price of Enamel Camp Mug changed from ${dollars(was - 100)} to ${dollars(was + 400)}.`,
      )
      expect(res.body).toContain(`name="price-MUG-001" value="${was + 400}"`)
    } finally {
      await setPrice('MUG-001', was)
    }
  })
})

describe('keepShownPrices (a catalogue that cannot be confirmed: the database is down)', () => {
  const lamp = { sku: 'LMP-006', name: 'Lantern', priceCents: 4900 } as AdminProduct
  const mug = { sku: 'MUG-001', name: 'Enamel Camp Mug', priceCents: 1800 } as AdminProduct
  it('shows the price the shopper saw, well formed, and leaves the rest alone', () => {
    const kept = keepShownPrices([lamp, mug], { 'price-LMP-006': '5100', 'price-MUG-001': '1.5' })
    expect(kept.map((p) => p.priceCents)).toEqual([5100, 1800])
    expect(lamp.priceCents).toBe(4900)
  })
})
