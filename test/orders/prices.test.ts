import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { placeOrderBatch } from '../../src/orders/place-order-batch.ts'
import type { OrderRequest } from '../../src/orders/schemas.ts'
import {
  buildTestApp,
  customer,
  postOrderForm,
  prices,
  rowCount,
  stock,
  type TestApp,
} from '../helpers/context.ts'

// An order is held to the price its client showed (a line's unitPriceCents, the form's hidden
// price-<SKU>): a price changed since is refused with 409 price-changed, never charged unseen.
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t?.close())

const { of: stockOf } = stock(() => t.app.db)
const { of: priceOf, set: setPrice } = prices(() => t.app.db)

const post = (items: unknown, key = randomUUID()) =>
  t.app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: { 'idempotency-key': key },
    payload: { items, customer },
  })

describe('POST /api/orders with unitPriceCents', () => {
  it('places the order when each named price is the price now', async () => {
    const price = await priceOf('MUG-001')
    const res = await post([
      { sku: 'MUG-001', quantity: 2, unitPriceCents: price },
      { sku: 'TEE-002', quantity: 1 },
    ])
    expect(res.statusCode).toBe(201)
    expect(res.json().items[0]).toMatchObject({ sku: 'MUG-001', unitPriceCents: price })
  })

  it('refuses a price changed since with 409 price-changed, taking and writing nothing', async () => {
    const was = await priceOf('LMP-006')
    await setPrice('LMP-006', was + 500)
    try {
      const [orders, lampStock, mugStock] = await Promise.all([
        rowCount(t.app, 'orders'),
        stockOf('LMP-006'),
        stockOf('MUG-001'),
      ])
      const res = await post([
        { sku: 'MUG-001', quantity: 1 },
        { sku: 'LMP-006', quantity: 1, unitPriceCents: was },
        { sku: 'LMP-006', quantity: 1 },
      ])
      expect(res.statusCode).toBe(409)
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
      const detail = `The price changed for LMP-006 (now ${was + 500} cents, not ${was}); nothing was ordered.`
      expect(res.json()).toEqual({
        type: 'tag:order-service.example,2026:problems/price-changed',
        title: 'Price changed',
        status: 409,
        detail,
        errors: [
          { pointer: '/items/1/unitPriceCents', detail: `the price is now ${was + 500} cents` },
        ],
        prices: [{ sku: 'LMP-006', expectedCents: was, unitPriceCents: was + 500 }],
        statusCode: 409,
        error: 'Conflict',
        message: detail,
      })
      expect(await rowCount(t.app, 'orders')).toBe(orders)
      expect(await stockOf('LMP-006')).toBe(lampStock)
      expect(await stockOf('MUG-001')).toBe(mugStock)

      // Without a price named, the order is placed at the price of the moment.
      const plain = await post([{ sku: 'LMP-006', quantity: 1 }])
      expect(plain.statusCode).toBe(201)
      expect(plain.json().totalCents).toBe(was + 500)
    } finally {
      await setPrice('LMP-006', was)
    }
  })

  it('answers a retry with its order when the price changed after it was placed', async () => {
    const was = await priceOf('CAP-003')
    const key = randomUUID()
    const items = [{ sku: 'CAP-003', quantity: 1, unitPriceCents: was }]
    const first = await post(items, key)
    expect(first.statusCode).toBe(201)
    await setPrice('CAP-003', was + 100)
    try {
      const again = await post(items, key)
      expect(again.statusCode).toBe(200)
      expect(again.json()).toEqual(first.json())
      // The key holds the lines and the customer; the price named is a precondition only.
      const withoutPrice = await post([{ sku: 'CAP-003', quantity: 1 }], key)
      expect(withoutPrice.statusCode).toBe(200)
    } finally {
      await setPrice('CAP-003', was)
    }
  })

  it('refuses a price that is not a whole number of cents, or two prices for one product', async () => {
    for (const unitPriceCents of [0, -1, 12.5, '1800', null, 10_000_001]) {
      const res = await post([{ sku: 'MUG-001', quantity: 1, unitPriceCents }])
      expect(res.statusCode, JSON.stringify(unitPriceCents)).toBe(400)
      expect(res.json().errors).toEqual([
        {
          pointer: '/items/0/unitPriceCents',
          detail: 'must be a whole number of cents from 1 to 10,000,000',
        },
      ])
      expect(res.json().detail).toContain('items[0].unitPriceCents must be a whole number')
    }
    const res = await post([
      { sku: 'MUG-001', quantity: 1, unitPriceCents: 1800 },
      { sku: 'MUG-001', quantity: 1, unitPriceCents: 1900 },
    ])
    expect(res.statusCode).toBe(400)
    const detail = 'items: MUG-001 is given two unit prices, 1800 and 1900 cents; give one'
    expect(res.json().detail).toBe(detail)
    expect(res.json().errors).toEqual([{ pointer: '/items/1/unitPriceCents', detail }])
  })

  it('refuses the one order of a batch whose price changed, and places its neighbours', async () => {
    const was = await priceOf('NTB-009')
    await setPrice('NTB-009', was + 1)
    try {
      const before = await stockOf('NTB-009')
      const request = (items: OrderRequest['items']): OrderRequest => ({
        items,
        customer,
        idempotencyKey: randomUUID(),
      })
      const results = await placeOrderBatch(t.app.db, [
        request([{ sku: 'NTB-009', quantity: 1, unitPriceCents: was + 1 }]),
        request([{ sku: 'NTB-009', quantity: 2, unitPriceCents: was }]),
        request([{ sku: 'NTB-009', quantity: 3 }]),
      ])
      expect(results.map((r) => (r instanceof Error ? r.message : r.kind))).toEqual([
        'placed',
        'price-changed',
        'placed',
      ])
      expect(results[1]).toEqual({
        kind: 'price-changed',
        prices: [{ sku: 'NTB-009', expectedCents: was, unitPriceCents: was + 1 }],
      })
      expect(await stockOf('NTB-009')).toBe(before - 4)
    } finally {
      await setPrice('NTB-009', was)
    }
  })
})

describe('the order form holds the order to the prices it showed', () => {
  const html = { accept: 'text/html' }
  const submit = (fields: Record<string, string>) => postOrderForm(t.app, fields)
  /** The inputs a browser posts from a rendered form (all but the disabled ones; no select). */
  const fieldsOf = (page: string) => {
    const fields: Record<string, string> = {}
    for (const [input] of page.matchAll(/<input [^>]*>/g)) {
      const name = /name="([^"]+)"/.exec(input)?.[1]
      const value = /value="([^"]*)"/.exec(input)?.[1]
      if (name && value !== undefined && !input.includes(' disabled')) fields[name] = value
    }
    return fields
  }

  it('writes each price shown as a hidden field, in cents', async () => {
    const page = (await t.app.inject({ url: '/', headers: html })).body
    const price = await priceOf('GLV-013')
    expect(page).toContain(`<input type="hidden" name="price-GLV-013" value="${price}">`)
  })

  it('answers 409 with the new price when it changed after the page was shown, then places at it', async () => {
    const was = await priceOf('GLV-013')
    const page = (await t.app.inject({ url: '/', headers: html })).body
    const typed: Record<string, string> = {
      ...fieldsOf(page),
      ...customer,
      'qty-GLV-013': '2',
      'qty-TEE-002': '1',
    }
    await setPrice('GLV-013', was + 250)
    try {
      const orders = await rowCount(t.app, 'orders')
      const res = await submit(typed)
      expect(res.statusCode).toBe(409)
      const dollars = (cents: number) => `$${(cents / 100).toFixed(2)}`
      expect(res.body).toContain(
        `Since this page was shown, the price of Leather Work Gloves changed from ${dollars(was)} to ${dollars(was + 250)}. Check the new price and place the order again to buy at it, or change your order; nothing was ordered yet.`,
      )
      expect(res.body.match(/role="alert"/g)).toHaveLength(1)
      expect(res.body).toContain('id="qty-GLV-013-error"')
      expect(res.body).toMatch(/name="qty-GLV-013"[^>]* value="2"/)
      expect(res.body).toContain(`name="price-GLV-013" value="${was + 250}"`)
      expect(res.body).toContain(`value="${typed.idempotencyKey as string}"`)
      expect(await rowCount(t.app, 'orders')).toBe(orders)

      // The page as shown now, sent as the browser sends it: placed at the new price.
      const again = await submit({ ...fieldsOf(res.body), state: customer.state })
      expect(again.statusCode).toBe(303)
      const order = await t.app.inject({ url: `/api${again.headers.location}` })
      expect(order.json().items).toContainEqual(
        expect.objectContaining({ sku: 'GLV-013', quantity: 2, unitPriceCents: was + 250 }),
      )
    } finally {
      await setPrice('GLV-013', was)
    }
  })

  it('names a changed price whatever else brings the form back, so the new one is never taken unseen', async () => {
    const was = await priceOf('LMP-006')
    const page = (await t.app.inject({ url: '/', headers: html })).body
    const typed = { ...fieldsOf(page), ...customer, zip: '7870', 'qty-LMP-006': '1' }
    await setPrice('LMP-006', was + 500)
    try {
      await sleep(1100) // past the form's catalogue, read at most once a second
      const res = await submit(typed)
      expect(res.statusCode).toBe(400)
      const dollars = (cents: number) => `$${(cents / 100).toFixed(2)}`
      expect(res.body).toContain(
        `Since this page was shown, the price of Lantern changed from ${dollars(was)} to ${dollars(was + 500)}. Please check the highlighted fields below.`,
      )
      expect(res.body).toContain('id="zip-error"')
      expect(res.body).toContain('id="qty-LMP-006-error"')
      expect(res.body).toContain(`name="price-LMP-006" value="${was + 500}"`)

      // Told, the shopper corrects the ZIP and places the form as now shown: at the new price.
      const again = await submit({ ...fieldsOf(res.body), state: customer.state, zip: '78701' })
      expect(again.statusCode).toBe(303)
      const order = await t.app.inject({ url: `/api${again.headers.location}` })
      expect(order.json().items).toEqual([
        expect.objectContaining({ sku: 'LMP-006', unitPriceCents: was + 500 }),
      ])
    } finally {
      await setPrice('LMP-006', was)
    }
  })

  it('names a product sold out since, and a changed price beside a mistyped quantity, when the form comes back', async () => {
    const was = await priceOf('BTL-005')
    const page = (await t.app.inject({ url: '/', headers: html })).body
    const blanket = await stockOf('BLK-007')
    const typed = { ...fieldsOf(page), ...customer, 'qty-BTL-005': '2.0', 'qty-BLK-007': '1' }
    await setPrice('BTL-005', was + 100)
    await t.app.db.updateTable('products').set({ stock: 0 }).where('sku', '=', 'BLK-007').execute()
    try {
      await sleep(1100) // past the form's catalogue, read at most once a second
      const orders = await rowCount(t.app, 'orders')
      const res = await submit(typed)
      expect(res.statusCode).toBe(400)
      expect(res.body).toContain('Since this page was shown, the price of Insulated Bottle changed')
      expect(res.body).toContain('Wool Blanket is sold out, so it was taken out of your order.')
      expect(res.body).toContain('Please check the highlighted fields below.')
      expect(res.body).toContain('id="qty-BLK-007-error"')
      // The quantity's own message stays by its field.
      expect(res.body).toContain('Quantity of Insulated Bottle must be a whole number')
      expect(await rowCount(t.app, 'orders')).toBe(orders)
    } finally {
      await setPrice('BTL-005', was)
      await t.app.db
        .updateTable('products')
        .set({ stock: blanket })
        .where('sku', '=', 'BLK-007')
        .execute()
    }
  })

  it('reads a SKU in any case in field names: the price goes with its quantity, one field once', async () => {
    const was = await priceOf('CAP-003')
    await setPrice('CAP-003', was + 1)
    try {
      const orders = await rowCount(t.app, 'orders')
      const key = randomUUID()
      for (const [qty, price] of [
        ['qty-CAP-003', 'price-cap-003'],
        ['qty-cap-003', 'price-CAP-003'],
        // The prefix too: a price in another case still holds its line to the price shown.
        ['qty-CAP-003', 'Price-CAP-003'],
        ['QTY-cap-003', 'PRICE-CAP-003'],
      ] as const) {
        const res = await submit({
          ...customer,
          [qty]: '2',
          [price]: String(was),
          idempotencyKey: key,
        })
        expect(res.statusCode, `${qty} ${price}`).toBe(409)
        expect(res.body).toMatch(/name="qty-CAP-003"[^>]* value="2"/)
      }
      // A quantity typed in a field of another spelling is kept when the form comes back.
      const typo = await submit({ ...customer, zip: 'x', 'qty-cap-003': '3', idempotencyKey: key })
      expect(typo.statusCode).toBe(400)
      expect(typo.body).toMatch(/name="qty-CAP-003"[^>]* value="3"/)
      // Two spellings of one field are that field given twice.
      const twice = await submit({
        ...customer,
        'qty-CAP-003': '1',
        'qty-cap-003': '1',
        idempotencyKey: key,
      })
      expect(twice.statusCode).toBe(400)
      expect(twice.body).toContain('must be given once')
      expect(await rowCount(t.app, 'orders')).toBe(orders)
    } finally {
      await setPrice('CAP-003', was)
    }
  })

  it('reads a quantity field whose qty- is in another case as a line of the order, not a field ignored', async () => {
    const was = await priceOf('CAP-003')
    await setPrice('CAP-003', was + 1)
    try {
      const placed = await submit({
        ...customer,
        'Qty-CAP-003': '2',
        'qty-TEE-002': '1',
        idempotencyKey: randomUUID(),
      })
      expect(placed.statusCode).toBe(303)
      const order = await t.app.inject({ url: `/api${placed.headers.location}` })
      expect(order.json().items).toEqual([
        expect.objectContaining({ sku: 'CAP-003', quantity: 2, unitPriceCents: was + 1 }),
        expect.objectContaining({ sku: 'TEE-002', quantity: 1 }),
      ])
    } finally {
      await setPrice('CAP-003', was)
    }
  })

  it('refuses a chosen quantity in a field naming no product instead of leaving it out', async () => {
    const orders = await rowCount(t.app, 'orders')
    const stray = ['qty-MÜG-001', 'QTY-', `qty-${'A'.repeat(33)}`, 'qty-MUG-001 ', 'qty-MUG_001']
    for (const field of stray) {
      const res = await submit({
        ...customer,
        [field]: '2',
        'qty-TEE-002': '1',
        idempotencyKey: randomUUID(),
      })
      expect(res.statusCode, field).toBe(400)
      expect(res.body).toContain('Choose a product from the list.')
      expect(res.body).toMatch(/name="qty-TEE-002"[^>]* value="1"/)
    }
    expect(await rowCount(t.app, 'orders')).toBe(orders)
    // Not chosen (0, empty, spaces), such a field orders nothing and is no error.
    for (const value of ['0', '', ' 0 ']) {
      const res = await submit({
        ...customer,
        'qty-MÜG-001': value,
        'qty-TEE-002': '1',
        idempotencyKey: randomUUID(),
      })
      expect(res.statusCode, JSON.stringify(value)).toBe(303)
    }
  })

  it('refuses a hidden price the page did not write as a damaged form, placing nothing', async () => {
    const orders = await rowCount(t.app, 'orders')
    for (const price of ['abc', '', '0', '00', '12.50', '123456789', '-5', ' 5']) {
      const res = await submit({
        ...customer,
        'qty-TEE-002': '1',
        'price-TEE-002': price,
        idempotencyKey: randomUUID(),
      })
      expect(res.statusCode, price).toBe(400)
      expect(res.body).toContain(
        'This form is missing or damaged; reload the page and submit again.',
      )
    }
    expect(await rowCount(t.app, 'orders')).toBe(orders)
  })
})
