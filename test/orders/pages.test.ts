import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { foldSales } from '../../src/insights/sales-fold.ts'
import { buildTestApp, customer, orderCount, type TestApp } from '../helpers/context.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t?.close())

const html = { accept: 'text/html' }
const form = (fields: Record<string, string | number> = {}) => ({
  'qty-TEE-002': 1,
  ...customer,
  idempotencyKey: randomUUID(),
  ...fields,
})
const submitForm = (fields: Record<string, string | number>) =>
  t.app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...html, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(
      Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)]),
    ).toString(),
  })

const countOrders = () => orderCount(t.app.db)

describe('GET /', () => {
  it('renders the order form with every field, the catalogue and a fresh key', async () => {
    const res = await t.app.inject({ url: '/', headers: html })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/html')
    for (const name of [
      'qty-MUG-001',
      'qty-TEE-002',
      'name',
      'email',
      'address',
      'city',
      'state',
      'zip',
      'idempotencyKey',
    ]) {
      expect(res.body).toContain(`name="${name}"`)
    }
    for (const name of ['qty-MUG-001', 'name', 'email', 'address', 'city', 'state', 'zip']) {
      expect(res.body).toMatch(new RegExp(`<label for="${name}">`))
    }
    expect(res.body.match(/<option value="[A-Z]{2}"/g)).toHaveLength(51)
    // A quantity field per product, each empty (0 its placeholder) until the shopper chooses.
    expect(res.body.match(/ name="qty-[A-Z0-9-]+"[^>]* value=""/g)?.length).toBeGreaterThanOrEqual(
      12,
    )
    expect(res.body).toContain('src="/public/images/mug-001.svg"')
    expect(res.body).toContain('$18.00')
    expect(res.body).toContain('<main id="main">')

    const key = (body: string) => body.match(/name="idempotencyKey" value="([^"]+)"/)?.[1]
    const again = await t.app.inject({ url: '/', headers: html })
    expect(key(res.body)).toMatch(/^[0-9a-f-]{36}$/)
    expect(key(again.body)).not.toBe(key(res.body))
  })
})

describe('POST /orders', () => {
  it('places the order, redirects 303 and shows the confirmation', async () => {
    const res = await submitForm(form({ 'qty-TEE-002': 0, 'qty-BAG-004': 2 }))
    expect(res.statusCode).toBe(303)
    const location = res.headers.location as string
    expect(location).toMatch(/^\/orders\/[0-9A-Z]{5}-[0-9A-Z]{5}$/)

    const page = await t.app.inject({ url: location, headers: html })
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain(location.split('/').pop())
    // Pasted from a rendered e-mail with a hyphen (U+2010) for its dash: sent to its one address.
    const pasted = await t.app.inject({
      url: location.replace('-', encodeURIComponent('\u2010')),
      headers: html,
    })
    expect([pasted.statusCode, pasted.headers.location]).toEqual([301, location])
    // Copied with the sentence's full stop, or linkified with it: the order, not a 404.
    for (const end of ['.', ')', '%3E']) {
      const stop = await t.app.inject({ url: `${location}${end}`, headers: html })
      expect([stop.statusCode, stop.headers.location], end).toEqual([301, location])
    }
    expect(page.body).toContain('Rolltop Backpack')
    expect(page.body).toContain('$129.00')
    expect(page.body).toContain('$258.00')
    expect(page.body).toContain('12 Analytical Way')
    expect(page.body).toContain('Austin, TX <span class="zip">78701</span>')
    expect(page.body).toContain('Most popular in Texas')
    expect(page.headers['cache-control']).toBe('no-store')
  })

  it('shows the top three of the state, with units, once folded', async () => {
    const ny = { city: 'Albany', state: 'NY', zip: '12207' }
    for (const [sku, quantity] of [
      ['HMK-011', 7],
      ['GLV-013', 4],
      ['CHR-014', 2],
      ['NTB-009', 1],
    ] as const) {
      const only = { 'qty-TEE-002': 0, [`qty-${sku}`]: quantity }
      expect((await submitForm(form({ ...only, ...ny }))).statusCode).toBe(303)
    }
    const last = await submitForm(form({ 'qty-TEE-002': 0, 'qty-NTB-009': 1, ...ny }))
    await foldSales(t.app.db)
    const page = await t.app.inject({ url: last.headers.location as string, headers: html })
    const popular = page.body.slice(page.body.indexOf('Most popular in New York'))
    expect(popular).toMatch(
      /Travel Hammock.*7 sold.*Leather Work Gloves.*4 sold.*(Camp Chair|Field Notebook).*2 sold/s,
    )
    expect(popular.match(/<li>/g)).toHaveLength(3)
  })

  it('re-renders with 400, a message by each bad field and every typed value kept', async () => {
    const typed = form({
      'qty-TEE-002': '1',
      'qty-MUG-001': '101',
      email: 'ada-at-example',
      zip: '7870',
      state: 'ZZ',
      name: 'Ada <Lovelace>',
    })
    const res = await submitForm(typed)
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain('id="qty-MUG-001-error"')
    expect(res.body).toContain('Quantity of Enamel Camp Mug must be a whole number from 0 to 100.')
    expect(res.body).toContain('Enter an e-mail address like name@example.com.')
    expect(res.body).toContain('ZIP code must be a 5-digit ZIP code')
    expect(res.body).toContain('id="state-error"')
    expect(res.body).not.toContain('id="name-error"')
    expect(res.body).toContain('value="ada-at-example"')
    expect(res.body).toContain('value="7870"')
    expect(res.body).toContain('value="Ada &lt;Lovelace&gt;"')
    expect(res.body).toMatch(/name="qty-TEE-002"[^>]* value="1"/)
    expect(res.body).toMatch(/name="qty-MUG-001"[^>]* value="101"/)
    expect(res.body).toContain(`value="${typed.idempotencyKey}"`)
  })

  it('names each missing field', async () => {
    const res = await submitForm({ idempotencyKey: randomUUID() })
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain('Choose at least one product: give it a quantity of 1 or more.')
    for (const label of ['Name', 'E-mail', 'Street address', 'City', 'State', 'ZIP code']) {
      expect(res.body).toContain(`${label} is required.`)
    }
  })

  it('answers 409 with the form when stock is short, and places nothing', async () => {
    await t.app.db.updateTable('products').set({ stock: 1 }).where('sku', '=', 'BTL-005').execute()
    const before = await countOrders()
    const res = await submitForm(form({ 'qty-BTL-005': 2, name: 'Kept Name' }))
    expect(res.statusCode).toBe(409)
    expect(res.body).toContain('not enough stock left')
    expect(res.body).toContain('Only 1 Insulated Bottle left: lower the quantity or set it to 0.')
    expect(res.body).toContain('value="Kept Name"')
    expect(await countOrders()).toBe(before)
  })

  it('treats a resubmitted form as the same order', async () => {
    const fields = form({ 'qty-SCK-010': 3 })
    const before = await countOrders()
    const first = await submitForm(fields)
    const second = await submitForm(fields)
    expect(first.statusCode).toBe(303)
    expect(second.statusCode).toBe(303)
    expect(second.headers.location).toBe(first.headers.location)
    expect(await countOrders()).toBe(before + 1)
  })

  it('escapes what the shopper typed', async () => {
    const xss = '<script>alert(1)</script>"\'&'
    const res = await submitForm(
      form({ name: xss, address: `<img src=x onerror=alert(1)>`, city: xss }),
    )
    expect(res.statusCode).toBe(303)
    const page = await t.app.inject({ url: res.headers.location as string, headers: html })
    expect(page.body).not.toContain('<script>alert(1)</script>')
    expect(page.body).not.toContain('<img src=x')
    expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;')
  })

  it('refuses a form without a valid key, keeping the values', async () => {
    const res = await submitForm(form({ idempotencyKey: 'not-a-uuid', name: 'Kept' }))
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain('reload the page')
    expect(res.body).toContain('value="Kept"')
  })

  it('refuses a key the page did not write, such as a UUID as a URN (another key than the bare one)', async () => {
    const before = await countOrders()
    const res = await submitForm(form({ idempotencyKey: `urn:uuid:${randomUUID()}` }))
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain('reload the page')
    expect(await countOrders()).toBe(before)
  })

  it('answers a POST without a body, or with an empty one of any type, with the form and what is missing (400)', async () => {
    const before = await countOrders()
    const bodies = [
      {},
      { headers: { 'content-type': 'application/json' }, payload: '' },
      { headers: { 'content-type': 'text/plain' }, payload: '' },
      { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' },
      // Nothing to decode, so no charset to refuse.
      {
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=bogus' },
        payload: '',
      },
      { headers: { 'content-type': 'application/json; charset=bogus' }, payload: '' },
      // JSON's whitespace holds no value: no body, as it is under /api (it was 415 here).
      { headers: { 'content-type': 'application/json' }, payload: '  \n' },
      { headers: { 'content-type': 'application/json; charset=utf-8' }, payload: '\t\r\n' },
    ]
    for (const { headers, payload } of bodies as { headers?: object; payload?: string }[]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/orders',
        headers: { ...html, ...headers },
        payload,
      })
      expect(res.statusCode, JSON.stringify(headers)).toBe(400)
      expect(res.headers['content-type']).toMatch(/^text\/html/)
      expect(res.body).toContain('action="/orders"')
      // Every required field says so, as for an empty form.
      for (const field of ['name', 'email', 'address', 'city', 'state', 'zip']) {
        expect(res.body, `${JSON.stringify(headers)} ${field}`).toMatch(
          new RegExp(`id="${field}-error">[^<]*(is required|Enter your)`),
        )
      }
    }
    expect(await countOrders()).toBe(before)
  })
})

// A program (Accept ranks application/json first) gets the form page for a form it got wrong,
// as a browser does; without any form there is no field to mark: problem details say what to send.
describe('POST /orders without a form, from a program', () => {
  it('is 400 problem details saying what to send, for no body, an empty one or JSON whitespace', async () => {
    const before = await countOrders()
    const bodies = [
      {},
      { headers: { 'content-type': 'application/json' }, payload: '' },
      { headers: { 'content-type': 'application/json' }, payload: '  \n' },
      { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' },
    ]
    for (const { headers, payload } of bodies as { headers?: object; payload?: string }[]) {
      const what = JSON.stringify({ headers, payload })
      const res = await t.app.inject({
        method: 'POST',
        url: '/orders',
        headers: { accept: 'application/json', ...headers },
        payload,
      })
      expect(res.statusCode, what).toBe(400)
      expect(res.headers['content-type'], what).toBe('application/problem+json; charset=utf-8')
      expect(res.json(), what).toMatchObject({
        type: 'tag:order-service.example,2026:problems/bad-request',
        status: 400,
        detail:
          "The body is empty; this request needs one: send the order form's fields as application/x-www-form-urlencoded, or JSON to POST /api/orders.",
      })
    }
    expect(await countOrders()).toBe(before)
  })

  it('still gets the form for a form with fields missing, as a browser does', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=Ada',
    })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    expect(res.body).toContain('value="Ada"')
  })
})

describe('GET /orders', () => {
  // The form re-shown after a refused POST /orders leaves /orders in the address bar: reloading
  // it as a navigation, or typing it, must lead back to the form, not to a 405 page.
  it('sends a shopper who loads the address the form was posted to back to the form (303)', async () => {
    for (const url of ['/orders', '/orders?from=bookmark', '/orders/']) {
      const res = await t.app.inject({ url, headers: html })
      const target = url === '/orders/' ? '/orders' : '/'
      expect([res.statusCode, res.headers.location]).toEqual([
        url === '/orders/' ? 301 : 303,
        target,
      ])
    }
    const head = await t.app.inject({ method: 'HEAD', url: '/orders', headers: html })
    expect([head.statusCode, head.headers.location]).toEqual([303, '/'])
    const form = await t.app.inject({ url: '/', headers: html })
    expect(form.statusCode).toBe(200)
    expect(form.body).toContain('action="/orders"')
  })

  it('leaves the API alone: GET /api/orders is still 405, allowing POST only', async () => {
    const res = await t.app.inject({ url: '/api/orders' })
    expect([res.statusCode, res.headers.allow]).toEqual([405, 'POST'])
  })
})

describe('POST /orders with several products', () => {
  const linesOf = async (location: string) =>
    (await t.app.inject({ url: `/api${location}` })).json().items as {
      sku: string
      quantity: number
    }[]

  it('places one order with a line per product whose quantity is above 0', async () => {
    const before = await countOrders()
    const res = await submitForm(
      form({
        'qty-TEE-002': '2',
        'qty-MUG-001': '0',
        'qty-CAP-003': '',
        'qty-NTB-009': '03',
        'qty-GLV-013': ' 1 ',
      }),
    )
    expect(res.statusCode).toBe(303)
    expect(await countOrders()).toBe(before + 1)
    const lines = await linesOf(res.headers.location as string)
    expect(lines.map((l) => [l.sku, l.quantity])).toEqual([
      ['GLV-013', 1],
      ['NTB-009', 3],
      ['TEE-002', 2],
    ])
    const page = await t.app.inject({ url: res.headers.location as string, headers: html })
    for (const name of ['Organic Cotton Tee', 'Field Notebook', 'Leather Work Gloves']) {
      expect(page.body).toContain(name)
    }
  })

  it('requires at least one product, keeping what was typed', async () => {
    const before = await countOrders()
    const res = await submitForm(form({ 'qty-TEE-002': '0', 'qty-MUG-001': '', name: 'Kept' }))
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain('id="items-error"')
    expect(res.body).toContain('aria-describedby="items-error"')
    expect(res.body).toContain('Choose at least one product: give it a quantity of 1 or more.')
    expect(res.body).toContain('value="Kept"')
    expect(await countOrders()).toBe(before)
  })

  it('answers 409 naming each product that is short; the other quantities stay filled in', async () => {
    for (const [sku, stock] of [
      ['KNF-008', 1],
      ['PRS-012', 2],
    ] as const) {
      await t.app.db.updateTable('products').set({ stock }).where('sku', '=', sku).execute()
    }
    const before = await countOrders()
    const typed = form({ 'qty-KNF-008': '2', 'qty-PRS-012': '3', 'qty-TEE-002': '4' })
    const res = await submitForm(typed)
    expect(res.statusCode).toBe(409)
    expect(res.body).toContain(
      'Only 1 Folding Knife and 2 Coffee Press left: lower the quantities or set them to 0.',
    )
    expect(res.body.match(/role="alert"/g)).toHaveLength(1)
    expect(res.body).toContain('Only 1 left.')
    expect(res.body).toContain('id="qty-KNF-008-error"')
    expect(res.body).toContain('id="qty-PRS-012-error"')
    expect(res.body).not.toContain('id="qty-TEE-002-error"')
    expect(res.body).toMatch(/name="qty-TEE-002"[^>]* value="4"/)
    expect(res.body).toMatch(/name="qty-KNF-008"[^>]* value="2"/)
    expect(res.body).toContain(`value="${typed.idempotencyKey}"`)
    expect(await countOrders()).toBe(before)

    // Lowered to what is left, the same form (same key) places the order.
    const again = await submitForm({ ...typed, 'qty-KNF-008': '1', 'qty-PRS-012': '0' })
    expect(again.statusCode).toBe(303)
    expect(await countOrders()).toBe(before + 1)
  })

  it('answers 409 naming a product sold out meanwhile as taken out of the order, in one alert', async () => {
    await t.app.inject({ url: '/', headers: html }) // the form's catalogue, cached with stock
    const { stock } = await t.app.db
      .selectFrom('products')
      .select('stock')
      .where('sku', '=', 'GLV-013')
      .executeTakeFirstOrThrow()
    await t.app.db.updateTable('products').set({ stock: 0 }).where('sku', '=', 'GLV-013').execute()
    const before = await countOrders()
    const typed = form({ 'qty-GLV-013': '1', 'qty-TEE-002': '2', name: 'Ada Lovelace' })
    const res = await submitForm(typed)
    expect(res.statusCode).toBe(409)
    expect(res.body.match(/role="alert"/g)).toHaveLength(1)
    expect(res.body).toContain(
      'Leather Work Gloves is sold out, so it was taken out of your order.',
    )
    expect(res.body).not.toContain('lower the quantit')
    expect(res.body).toMatch(/<input id="qty-GLV-013"[^>]* value="0"[^>]* disabled>/)
    expect(res.body).toContain('Sold out: taken out of your order.')
    expect(res.body).toMatch(/name="qty-TEE-002"[^>]* value="2"/)
    expect(res.body).toContain('value="Ada Lovelace"')
    expect(res.body).toContain(`value="${typed.idempotencyKey}"`)
    expect(await countOrders()).toBe(before)
    // Sent again as the browser sends it (a disabled field is not sent): placed without it.
    const resent: Record<string, string | number> = { ...typed }
    delete resent['qty-GLV-013']
    const again = await submitForm(resent)
    expect(again.statusCode).toBe(303)
    expect(await countOrders()).toBe(before + 1)
    await t.app.db.updateTable('products').set({ stock }).where('sku', '=', 'GLV-013').execute()
  })

  it('shows sold-out and off-sale products without a quantity one can set', async () => {
    await t.app.db.updateTable('products').set({ stock: 0 }).where('sku', '=', 'CAP-003').execute()
    await t.app.db
      .updateTable('products')
      .set({ on_sale: false })
      .where('sku', '=', 'LMP-006')
      .execute()
    await new Promise((r) => setTimeout(r, 1100)) // the form's catalogue is kept a second
    const res = await t.app.inject({ url: '/', headers: html })
    expect(res.body).toMatch(/<input id="qty-CAP-003"[^>]* disabled>/)
    expect(res.body).toMatch(/<input id="qty-LMP-006"[^>]* disabled>/)
    expect(res.body).not.toMatch(/<input id="qty-MUG-001"[^>]* disabled>/)
    expect(res.body).toMatch(/Sold out/)
    expect(res.body).toMatch(/Not on sale/)
    // Posted all the same (an old page, an edited form): refused by the field, nothing placed.
    const before = await countOrders()
    const refused = await submitForm(form({ 'qty-LMP-006': '1' }))
    expect(refused.statusCode).toBe(400)
    // Named as taken out of the order, like a product sold out; not "Choose a product from the
    // list": the shopper chose one from it.
    expect(refused.body).toContain(
      'Lantern is no longer on sale, so it was taken out of your order. Everything else is as you filled it in; nothing was ordered yet.',
    )
    expect(refused.body).toContain('Not on sale any more: taken out of your order.')
    expect(refused.body).not.toContain('Choose a product from the list.')
    expect(refused.body).toMatch(/<input id="qty-LMP-006"[^>]* disabled>/)
    // Brought back by another error, the product off sale is not called sold out.
    const typo = await submitForm(form({ 'qty-LMP-006': '1', zip: 'x' }))
    expect(typo.statusCode).toBe(400)
    expect(typo.body).toContain('Lantern is no longer on sale, so it was taken out of your order.')
    expect(typo.body).not.toContain('sold out')
    expect(await countOrders()).toBe(before)
    await t.app.db
      .updateTable('products')
      .set({ on_sale: true })
      .where('sku', '=', 'LMP-006')
      .execute()
    // Taken off sale within the second the form's catalogue is kept: the refusal shows it so.
    await t.app.inject({ url: '/', headers: html })
    await t.app.db
      .updateTable('products')
      .set({ on_sale: false })
      .where('sku', '=', 'NTB-009')
      .execute()
    try {
      const now = await submitForm(form({ 'qty-NTB-009': '1' }))
      expect(now.statusCode).toBe(400)
      expect(now.body).toMatch(/<input id="qty-NTB-009"[^>]* disabled>/)
    } finally {
      await t.app.db
        .updateTable('products')
        .set({ on_sale: true })
        .where('sku', '=', 'NTB-009')
        .execute()
    }
  })

  it('holds the form to the limits the API has: units per product once merged, lines per order', async () => {
    const before = await countOrders()
    const over = await submitForm(form({ 'qty-TEE-002': '101' }))
    expect(over.statusCode).toBe(400)
    expect(over.body).toContain(
      'Quantity of Organic Cotton Tee must be a whole number from 0 to 100.',
    )
    // One product under two spellings of its field is one field given twice, not 60 + 60.
    const twice = await submitForm(form({ 'qty-TEE-002': '60', 'qty-tee-002': '60' }))
    expect(twice.statusCode).toBe(400)
    expect(twice.body).toContain('Quantity of Organic Cotton Tee must be given once.')
    const many: Record<string, string> = {}
    for (let i = 0; i < 21; i++) many[`qty-X-${i}`] = '1'
    const tooMany = await submitForm(form({ 'qty-TEE-002': '0', ...many }))
    expect(tooMany.statusCode).toBe(400)
    // Fields naming no product the form shows are no products chosen (form-line-count.test.ts).
    expect(tooMany.body).toContain('Choose a product from the list.')
    expect(tooMany.body).not.toContain('you chose')
    const unknown = await submitForm(form({ 'qty-NOPE-1': '1' }))
    expect(unknown.statusCode).toBe(400)
    expect(unknown.body).toContain('Choose a product from the list.')
    expect(await countOrders()).toBe(before)
  })

  it('says every quantity over 100 in the same round as a mistyped one', async () => {
    const res = await submitForm(
      form({ 'qty-TEE-002': 'abc', 'qty-MUG-001': '101', 'qty-CAP-003': '150', zip: '7870' }),
    )
    expect(res.statusCode).toBe(400)
    for (const name of ['Organic Cotton Tee', 'Enamel Camp Mug', 'Waxed Canvas Cap']) {
      expect(res.body).toContain(`Quantity of ${name} must be a whole number from 0 to 100.`)
    }
    expect(res.body).toContain('id="qty-CAP-003-error"')
  })

  it('escapes a typed quantity when it shows the form again', async () => {
    const res = await submitForm(form({ 'qty-TEE-002': '"><script>alert(1)</script>' }))
    expect(res.statusCode).toBe(400)
    expect(res.body).not.toContain('<script>alert(1)</script>')
    expect(res.body).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"')
    expect(res.body).toContain(
      'Quantity of Organic Cotton Tee must be a whole number from 0 to 100.',
    )
  })
})

describe('GET /orders/:orderNumber', () => {
  it('answers 404 with a page for an unknown number', async () => {
    for (const n of ['ZZZZZ-ZZZZZ', 'nonsense']) {
      const res = await t.app.inject({ url: `/orders/${n}`, headers: html })
      expect(res.statusCode).toBe(404)
      expect(res.headers['content-type']).toContain('text/html')
      expect(res.body).toContain(`We could not find order ${n}.`)
    }
  })

  it('answers unknown pages with a 404 page', async () => {
    const res = await t.app.inject({ url: '/no/such/page', headers: html })
    expect(res.statusCode).toBe(404)
    expect(res.body).toContain('<h1 id="error-title">Not Found</h1>')
  })
})
