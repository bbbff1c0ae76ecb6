// A ZIP code of another state than the one chosen is refused on the form and the API, and
// nothing is ordered (src/zip-prefixes.ts); a ZIP that crosses a state line is taken with either.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, customer, orderCount, stock, type TestApp } from '../helpers/context.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t?.close())

const beverlyHills = {
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  address: '9 Rodeo Drive',
  city: 'Beverly Hills',
  state: 'CA',
  zip: '10001',
}
const wrongZip = 'ZIP code 10001 is in New York, not California.'
const stockOf = stock(() => t.app.db).of

const countOrders = () => orderCount(t.app.db)

const postApi = (customerFields: object, key = randomUUID()) =>
  t.app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: { 'idempotency-key': key },
    payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer: customerFields },
  })

const postForm = (fields: Record<string, string>) =>
  t.app.inject({
    method: 'POST',
    url: '/orders',
    headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      'qty-MUG-001': '2',
      idempotencyKey: randomUUID(),
      ...fields,
    }).toString(),
  })

describe('POST /api/orders with a ZIP code of another state', () => {
  it('refuses it 400 at /customer/zip, saying whose ZIP it is, and orders nothing', async () => {
    const [orders, mugs] = [await countOrders(), await stockOf('MUG-001')]
    const key = randomUUID()
    const res = await postApi(beverlyHills, key)
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(res.json()).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      message: wrongZip,
      detail: wrongZip,
      errors: [{ pointer: '/customer/zip', detail: wrongZip }],
    })
    expect(await countOrders()).toBe(orders)
    expect(await stockOf('MUG-001')).toBe(mugs)
    // The key was not used up: the same key with the address put right places the order.
    const fixed = await postApi({ ...beverlyHills, zip: '90210' }, key)
    expect(fixed.statusCode).toBe(201)
    expect(fixed.json().customer).toMatchObject({ state: 'CA', zip: '90210' })
  })

  it('says the ZIP+4 as stored, and refuses a ZIP that does not exist (00000)', async () => {
    const plus4 = await postApi({ ...beverlyHills, zip: '10001 1234' })
    expect(plus4.statusCode).toBe(400)
    expect(plus4.json().message).toBe('ZIP code 10001-1234 is in New York, not California.')
    const none = await postApi({ ...customer, zip: '00000' })
    expect(none.statusCode).toBe(400)
    expect(none.json().errors).toEqual([
      {
        pointer: '/customer/zip',
        detail: 'ZIP code 00000 does not exist: no ZIP code starts with 000 to 004.',
      },
    ])
  })

  it('places an order whose ZIP is its state’s, and Fort Campbell 42223 with KY or TN', async () => {
    for (const address of [
      { city: 'Beverly Hills', state: 'CA', zip: '90210' },
      { city: 'Fort Campbell', state: 'KY', zip: '42223' },
      { city: 'Fort Campbell', state: 'TN', zip: '42223' },
      { city: 'Holtsville', state: 'NY', zip: '00501' },
    ]) {
      const res = await postApi({ ...customer, ...address })
      expect(res.statusCode, JSON.stringify(address)).toBe(201)
      expect(res.json().customer).toMatchObject(address)
    }
  })
})

describe('POST /orders with a ZIP code of another state', () => {
  it('shows the form again, 400, the message by the ZIP field and every value kept; orders nothing', async () => {
    const orders = await countOrders()
    const key = randomUUID()
    const res = await postForm({ ...beverlyHills, idempotencyKey: key })
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain(`<p class="field-error" id="zip-error">${wrongZip}</p>`)
    expect(res.body).toMatch(/name="zip"[^>]*aria-invalid="true" aria-describedby="zip-error"/)
    expect(res.body).toContain(`<a href="#zip">${wrongZip}</a>`)
    expect(res.body).not.toContain('id="state-error"')
    for (const value of ['Ada Lovelace', 'ada@example.com', '9 Rodeo Drive', 'Beverly Hills']) {
      expect(res.body).toContain(`value="${value}"`)
    }
    expect(res.body).toMatch(/name="zip"[^>]* value="10001"/)
    expect(res.body).toContain('<option value="CA" selected>')
    expect(res.body).toMatch(/name="qty-MUG-001"[^>]* value="2"/)
    expect(res.body).toContain(`value="${key}"`)
    expect(await countOrders()).toBe(orders)
    // Put right, the same form places the order.
    const fixed = await postForm({ ...beverlyHills, zip: '90210', idempotencyKey: key })
    expect(fixed.statusCode).toBe(303)
  })

  it('says a ZIP that does not exist beside a wrong state, and compares no state then', async () => {
    const res = await postForm({ ...beverlyHills, state: 'ZZ', zip: '00000' })
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain('id="state-error"')
    expect(res.body).toContain(
      'id="zip-error">ZIP code 00000 does not exist: no ZIP code starts with 000 to 004.</p>',
    )
    const other = await postForm({ ...beverlyHills, state: 'ZZ' })
    expect(other.statusCode).toBe(400)
    expect(other.body).not.toContain('id="zip-error"')
  })

  it('places an order whose ZIP is its state’s, and Fort Campbell 42223 with KY or TN', async () => {
    for (const address of [
      { city: 'Beverly Hills', state: 'CA', zip: '90210' },
      { city: 'Fort Campbell', state: 'KY', zip: '42223' },
      { city: 'Fort Campbell', state: 'TN', zip: '42223-1234' },
    ]) {
      const res = await postForm({ ...beverlyHills, ...address })
      expect(res.statusCode, JSON.stringify(address)).toBe(303)
      const order = (await t.app.inject({ url: `/api${res.headers.location}` })).json()
      expect(order.customer).toMatchObject(address)
    }
  })
})
