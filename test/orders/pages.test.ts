import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { foldSales } from '../../src/insights/sales-fold.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t?.close())

const html = { accept: 'text/html' }
const form = (fields: Record<string, string | number> = {}) => ({
  sku: 'TEE-002',
  quantity: 1,
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

const countOrders = async () =>
  Number(
    (
      await t.app.db
        .selectFrom('orders')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  )

describe('GET /', () => {
  it('renders the order form with every field, the catalogue and a fresh key', async () => {
    const res = await t.app.inject({ url: '/', headers: html })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/html')
    for (const name of [
      'sku',
      'quantity',
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
    for (const name of ['quantity', 'name', 'email', 'address', 'city', 'state', 'zip']) {
      expect(res.body).toMatch(new RegExp(`<label for="${name}">`))
    }
    expect(res.body.match(/<option value="[A-Z]{2}"/g)).toHaveLength(51)
    expect(res.body.match(/type="radio" name="sku"/g)?.length).toBeGreaterThanOrEqual(12)
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
    const res = await submitForm(form({ sku: 'BAG-004', quantity: 2 }))
    expect(res.statusCode).toBe(303)
    const location = res.headers.location as string
    expect(location).toMatch(/^\/orders\/[0-9A-Z]{5}-[0-9A-Z]{5}$/)

    const page = await t.app.inject({ url: location, headers: html })
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain(location.split('/').pop())
    expect(page.body).toContain('Rolltop Backpack')
    expect(page.body).toContain('$129.00')
    expect(page.body).toContain('$258.00')
    expect(page.body).toContain('12 Analytical Way')
    expect(page.body).toContain('Austin, TX 78701')
    expect(page.body).toContain('Most popular in Texas')
    expect(page.headers['cache-control']).toBe('private, no-store')
  })

  it('shows the top three of the state, with units, once folded', async () => {
    const ny = { city: 'Albany', state: 'NY', zip: '12207' }
    for (const [sku, quantity] of [
      ['HMK-011', 7],
      ['GLV-013', 4],
      ['CHR-014', 2],
      ['NTB-009', 1],
    ] as const) {
      expect((await submitForm(form({ sku, quantity, ...ny }))).statusCode).toBe(303)
    }
    const last = await submitForm(form({ sku: 'NTB-009', quantity: 1, ...ny }))
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
      quantity: '0',
      email: 'ada-at-example',
      zip: '7870',
      state: 'ZZ',
      name: 'Ada <Lovelace>',
    })
    const res = await submitForm(typed)
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain('id="quantity-error"')
    expect(res.body).toContain('Quantity must be a whole number from 1 to 100.')
    expect(res.body).toContain('E-mail must be an e-mail address like name@example.com.')
    expect(res.body).toContain('ZIP code must be a 5-digit ZIP code')
    expect(res.body).toContain('id="state-error"')
    expect(res.body).not.toContain('id="name-error"')
    expect(res.body).toContain('value="ada-at-example"')
    expect(res.body).toContain('value="7870"')
    expect(res.body).toContain('value="Ada &lt;Lovelace&gt;"')
    expect(res.body).toContain('value="TEE-002" checked')
    expect(res.body).toContain(`value="${typed.idempotencyKey}"`)
  })

  it('names each missing field', async () => {
    const res = await submitForm({ idempotencyKey: randomUUID() })
    expect(res.statusCode).toBe(400)
    for (const label of [
      'Product',
      'Quantity',
      'Name',
      'E-mail',
      'Street address',
      'City',
      'State',
      'ZIP code',
    ]) {
      expect(res.body).toContain(`${label} is required.`)
    }
  })

  it('answers 409 with the form when stock is short, and places nothing', async () => {
    await t.app.db.updateTable('products').set({ stock: 1 }).where('sku', '=', 'BTL-005').execute()
    const before = await countOrders()
    const res = await submitForm(form({ sku: 'BTL-005', quantity: 2, name: 'Kept Name' }))
    expect(res.statusCode).toBe(409)
    expect(res.body).toContain('not enough stock left')
    expect(res.body).toContain('value="Kept Name"')
    expect(await countOrders()).toBe(before)
  })

  it('treats a resubmitted form as the same order', async () => {
    const fields = form({ sku: 'SCK-010', quantity: 3 })
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
