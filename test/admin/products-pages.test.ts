import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, customer, stock, type TestApp } from '../helpers/context.ts'
import { addStaff, form, formHeaders, signIn } from '../helpers/staff.ts'

let t: TestApp
let session: { cookie: string; csrf: string }
const stockOf = stock(() => t.app.db)
const html = { accept: 'text/html' }

beforeAll(async () => {
  t = await buildTestApp()
  await addStaff(t.app, 'clerk@example.com', 'staff')
  session = await signIn(t.app, 'clerk@example.com')
})
afterAll(() => t?.close())

const post = (url: string, fields: Record<string, string>, csrf: string | null = session.csrf) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { ...formHeaders, cookie: session.cookie },
    payload: form(csrf === null ? fields : { ...fields, _csrf: csrf }),
  })

const page = () =>
  t.app.inject({ url: '/admin/products', headers: { ...html, cookie: session.cookie } })

/** The row of one product on the products page. */
function row(body: string, sku: string): string {
  const m = new RegExp(`<tr id="product-${sku}"[\\s\\S]*?</tr>`).exec(body)
  if (!m) throw new Error(`no row for ${sku}`)
  return m[0]
}

describe('/admin/products', () => {
  it('sends anonymous visitors to the sign-in page, for the page and its forms', async () => {
    const res = await t.app.inject({ url: '/admin/products', headers: html })
    expect(res.statusCode).toBe(303)
    expect(res.headers.location).toBe('/admin/login?next=%2Fadmin%2Fproducts')
    const restock = await t.app.inject({
      method: 'POST',
      url: '/admin/products/MUG-001/restock',
      headers: formHeaders,
      payload: form({ units: '5' }),
    })
    expect(restock.statusCode).toBe(303)
    // A form's POST: back to the page the form is on once signed in.
    expect(restock.headers.location).toBe('/admin/login?next=%2Fadmin%2Fproducts&ended=restock')
  })

  it('shows every product with price, stock and on sale, and a form per action with _csrf', async () => {
    await stockOf.set('MUG-001', 1234)
    const res = await page()
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.body.match(/<tr id="product-/g)).toHaveLength(14)
    const mug = row(res.body, 'MUG-001')
    expect(mug).toContain('Enamel Camp Mug')
    expect(mug).toContain('<td class="num price-cell">$18.00</td>')
    expect(mug).toContain('<td class="num stock-cell">1,234</td>')
    expect(mug).toContain('<td class="sale-cell">yes</td>')
    for (const action of ['restock', 'price', 'sale']) {
      expect(mug).toContain(`action="/admin/products/MUG-001/${action}"`)
    }
    expect(mug.match(/name="_csrf" value="([^"]+)"/g)).toHaveLength(3)
    expect(mug).toContain(`value="${session.csrf}"`)
  })

  it('restocks: 303 back to the page, which names the product; stock = stock + units', async () => {
    await stockOf.set('TEE-002', 10)
    const res = await post('/admin/products/tee-002/restock', { units: '1,000' })
    expect(res.statusCode).toBe(303)
    expect(res.headers.location).toBe('/admin/products?updated=TEE-002')
    expect(await stockOf.of('TEE-002')).toBe(1010)
    expect((await post('/admin/products/TEE-002/restock', { units: '990' })).statusCode).toBe(303)
    expect(await stockOf.of('TEE-002')).toBe(2000)
    const back = await t.app.inject({
      url: res.headers.location as string,
      headers: { ...html, cookie: session.cookie },
    })
    expect(back.body).toContain('<strong>Organic Cotton Tee</strong> (TEE-002) updated')
  })

  it('adds nothing for a second submit of the same restock form (double click, retry), and says so', async () => {
    await stockOf.set('BAG-004', 10)
    const shown = row((await page()).body, 'BAG-004')
    const version = /name="version" value="(\d+)"/.exec(shown)?.[1] as string
    expect(version).toMatch(/^\d+$/)
    const first = await post('/admin/products/BAG-004/restock', { units: '5', version })
    expect(first.statusCode).toBe(303)
    const second = await t.app.inject({
      method: 'POST',
      url: '/admin/products/BAG-004/restock',
      headers: { ...formHeaders, ...html, cookie: session.cookie },
      payload: form({ units: '5', version, _csrf: session.csrf }),
    })
    expect(second.statusCode).toBe(409)
    expect(row(second.body, 'BAG-004')).toContain('nothing was added')
    expect(await stockOf.of('BAG-004')).toBe(15)
    // The page as re-rendered carries the new version: submitting it adds again.
    const next = /name="version" value="(\d+)"/.exec(row(second.body, 'BAG-004'))?.[1] as string
    expect(Number(next)).toBe(Number(version) + 1)
    expect(
      (await post('/admin/products/BAG-004/restock', { units: '5', version: next })).statusCode,
    ).toBe(303)
    expect(await stockOf.of('BAG-004')).toBe(20)
    const damaged = await post('/admin/products/BAG-004/restock', { units: '5', version: 'x' })
    expect(damaged.statusCode).toBe(400)
    expect(await stockOf.of('BAG-004')).toBe(20)
  })

  it('re-renders with 400 and the message by the field for units out of range', async () => {
    await stockOf.set('CAP-003', 10)
    // Commas only between groups of three: '1,0,0' was read as 100 and '10,00' as 1000.
    const misgrouped = ['1,0,0', '10,00', ',100', '100,', '1,,000', '1000,000', '1,00,000']
    // A sign is refused, as on the order form ('+5' is sent %2B5).
    for (const units of ['0', '1000001', '1.5', '-3', '+5', 'ten', '', ...misgrouped]) {
      const res = await post('/admin/products/CAP-003/restock', { units })
      expect(res.statusCode, units).toBe(400)
      const cap = row(res.body, 'CAP-003')
      expect(cap).toContain('aria-invalid="true"')
      expect(cap).toContain('Units to add must be a whole number from 1 to 1,000,000.')
    }
    expect(await stockOf.of('CAP-003')).toBe(10)
    // A raw + in a urlencoded body is a space (WHATWG URL, application/x-www-form-urlencoded
    // parsing), so `units=+5` is " 5", trimmed like every value: 5 units, as `qty-…=+5` on the
    // order form is 5 mugs. Only an encoded %2B is a sign.
    const spaced = await t.app.inject({
      method: 'POST',
      url: '/admin/products/CAP-003/restock',
      headers: { ...formHeaders, cookie: session.cookie },
      payload: `units=+5&_csrf=${encodeURIComponent(session.csrf)}`,
    })
    expect(spaced.statusCode).toBe(303)
    expect(await stockOf.of('CAP-003')).toBe(15)
    await stockOf.set('CAP-003', 10)
  })

  it('refuses a form without its CSRF token (403), or with another one, changing nothing', async () => {
    await stockOf.set('BTL-005', 10)
    for (const csrf of [null, 'x'.repeat(43)]) {
      const restock = await post('/admin/products/BTL-005/restock', { units: '5' }, csrf)
      expect(restock.statusCode).toBe(403)
      const price = await post('/admin/products/BTL-005/price', { price: '1.00' }, csrf)
      expect(price.statusCode).toBe(403)
      const sale = await post('/admin/products/BTL-005/sale', { onSale: 'false' }, csrf)
      expect(sale.statusCode).toBe(403)
    }
    const products = await t.app.db
      .selectFrom('products')
      .select(['stock', 'price_cents', 'on_sale'])
      .where('sku', '=', 'BTL-005')
      .executeTakeFirstOrThrow()
    expect(products).toEqual({ stock: 10, price_cents: 3500, on_sale: true })
  })

  it('sets a price typed in dollars; refuses one it cannot read', async () => {
    const res = await post('/admin/products/NTB-009/price', { price: '$13.5' })
    expect(res.statusCode).toBe(303)
    expect(row((await page()).body, 'NTB-009')).toContain('$13.50')
    for (const price of ['0', '0.00', '13.505', '1e3', '-1', '100000.01', 'abc']) {
      const bad = await post('/admin/products/NTB-009/price', { price })
      expect(bad.statusCode, price).toBe(400)
      expect(row(bad.body, 'NTB-009')).toContain('The price must be an amount in dollars')
    }
    expect(row((await page()).body, 'NTB-009')).toContain('$13.50')
  })

  it('takes a dollar amount as people type it: .5 is $0.50, 5. is $5.00, $5, 5.00, 1,234.50', async () => {
    for (const [typed, shown] of [
      ['.5', '$0.50'],
      ['5.', '$5.00'],
      ['$5', '$5.00'],
      ['5.00', '$5.00'],
      ['1,234.50', '$1,234.50'],
      ['$.05', '$0.05'],
    ]) {
      const res = await post('/admin/products/GLV-013/price', { price: typed as string })
      expect(res.statusCode, typed).toBe(303)
      expect(row((await page()).body, 'GLV-013'), typed).toContain(`price-cell">${shown}<`)
    }
    // Still refused, with the same sentence: 3 decimals, a sign, zero, above the most, `.` alone.
    for (const price of [
      '.505',
      '5.125',
      '-.5',
      '-5',
      '.0',
      '0.',
      '.',
      '$',
      '100000.01',
      '1,0.5',
    ]) {
      const bad = await post('/admin/products/GLV-013/price', { price })
      expect(bad.statusCode, price).toBe(400)
      expect(row(bad.body, 'GLV-013'), price).toContain(
        'The price must be an amount in dollars from $0.01 to $100,000, like 18.50.',
      )
    }
  })

  it('refuses a price set from a page shown before another change of the product, and says so', async () => {
    const shown = row((await page()).body, 'LMP-006')
    const version =
      /action="\/admin\/products\/LMP-006\/price">[\s\S]*?name="version" value="(\d+)"/.exec(
        shown,
      )?.[1] as string
    expect(version).toMatch(/^\d+$/)
    // Someone else sets a price from their page first.
    expect((await post('/admin/products/LMP-006/price', { price: '51', version })).statusCode).toBe(
      303,
    )
    const stale = await post('/admin/products/LMP-006/price', { price: '47', version })
    expect(stale.statusCode).toBe(409)
    expect(row(stale.body, 'LMP-006')).toContain(
      'the product changed since the page was shown (another member of staff, or this form sent twice): the price is now $51.00 and was not changed.',
    )
    expect(row((await page()).body, 'LMP-006')).toContain('$51.00')
    const damaged = await post('/admin/products/LMP-006/price', { price: '47', version: '0' })
    expect(damaged.statusCode).toBe(400)
    // A form without a version (a page shown before versions) sets the price as before.
    expect((await post('/admin/products/LMP-006/price', { price: '49' })).statusCode).toBe(303)
    expect(row((await page()).body, 'LMP-006')).toContain('$49.00')
  })

  it('answers 404 for an unknown product', async () => {
    const res = await post('/admin/products/NOPE-1/restock', { units: '5' })
    expect(res.statusCode).toBe(404)
    expect(res.body).toContain('There is no product NOPE-1.')
  })

  it('takes a product off sale: the order form no longer offers it, and refuses it', async () => {
    const off = await post('/admin/products/HMK-011/sale', { onSale: 'false' })
    expect(off.statusCode).toBe(303)
    const hammock = row((await page()).body, 'HMK-011')
    expect(hammock).toContain('<td class="sale-cell">no</td>')
    expect(hammock).toContain('Put on sale')
    // The order form's catalogue is kept for a second (src/orders/page-routes.ts).
    await new Promise((r) => setTimeout(r, 1100))
    const shop = await t.app.inject({ url: '/', headers: html })
    // Shown, but its quantity cannot be set; the others can.
    expect(shop.body).toMatch(/<input id="qty-HMK-011"[^>]* disabled>/)
    expect(shop.body).not.toMatch(/<input id="qty-MUG-001"[^>]* disabled>/)
    const order = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: formHeaders,
      payload: form({ 'qty-HMK-011': '1', ...customer, idempotencyKey: randomUUID() }),
    })
    expect(order.statusCode).toBe(400)
    expect(order.body).toContain(
      'Travel Hammock is no longer on sale, so it was taken out of your order.',
    )

    const on = await post('/admin/products/HMK-011/sale', { onSale: 'true' })
    expect(on.statusCode).toBe(303)
    await new Promise((r) => setTimeout(r, 1100))
    expect((await t.app.inject({ url: '/', headers: html })).body).not.toMatch(
      /<input id="qty-HMK-011"[^>]* disabled>/,
    )
  })
})
