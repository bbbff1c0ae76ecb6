import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, customer, stock, type TestApp } from '../helpers/context.ts'
import { lifecycleApi, placeOrder, shipping } from '../helpers/lifecycle.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

// The JSON API's bodies are strict (additionalProperties: false): a field they do not know is
// refused 400 naming it, and nothing is written. Fastify's Ajv default (removeAdditional: true)
// stripped such a field and went on as if it had not been sent.

let t: TestApp
let authorization: string
let api: ReturnType<typeof lifecycleApi>
const stockOf = stock(() => t.app.db).of

beforeAll(async () => {
  t = await buildTestApp({ RATE_LIMIT_MAX: '0' })
  const token = await addToken(t.app, await addStaff(t.app, 'clerk@example.com', 'staff'))
  authorization = `Bearer ${token}`
  api = lifecycleApi(t.app, token)
})
afterAll(() => t?.close())

const order = (payload: object, key = randomUUID()) =>
  t.app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: { 'idempotency-key': key },
    payload,
  })

/** A back-office JSON request as the staff member. */
const admin = (method: 'POST' | 'PATCH', url: string, payload: object) =>
  t.app.inject({ method, url, headers: { authorization }, payload })

const items = [{ sku: 'MUG-001', quantity: 1 }]

describe('POST /api/orders', () => {
  it.each([
    ['the body', { items, customer, giftNote: 'hi' }, 'body has an unknown field "giftNote"'],
    [
      'a line',
      { items: [{ ...items[0], colour: 'red' }], customer },
      'items[0] has an unknown field "colour"',
    ],
    [
      'the customer',
      { items, customer: { ...customer, phone: '555' } },
      'customer has an unknown field "phone"',
    ],
  ])('refuses an unknown field in %s (400, no order)', async (_, payload, message) => {
    const before = await stockOf('MUG-001')
    const res = await order(payload)
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain(message)
    expect(await stockOf('MUG-001')).toBe(before)
  })

  it('names an unknown key JSON-quoted and cut to 40 characters, however long it is', async () => {
    const res = await order({ items, customer, ['😀'.repeat(1000)]: 1, 'say "hi"\n': 2 })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toBe(
      `body has an unknown field "${'😀'.repeat(40)}…"; body has an unknown field "say \\"hi\\"\\n"`,
    )
  })

  it('never answers a retry with an extra field as the same order', async () => {
    const key = randomUUID()
    const first = await order({ items, customer }, key)
    expect(first.statusCode).toBe(201)
    const retry = await order({ items, customer, giftNote: 'different' }, key)
    expect(retry.statusCode).toBe(400)
    expect(retry.json().message).toContain('has an unknown field "giftNote"')
  })
})

describe('the back office API', () => {
  it('PATCH /api/admin/products/:sku refuses an unknown field and changes nothing', async () => {
    const before = await stockOf('LMP-006')
    const res = await admin('PATCH', '/api/admin/products/LMP-006', { onSale: false, stock: 5 })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('has an unknown field "stock"')
    const products = await t.app.inject({ url: '/api/products' })
    expect(products.json().map((p: { sku: string }) => p.sku)).toContain('LMP-006')
    expect(await stockOf('LMP-006')).toBe(before)
  })

  it('POST /api/admin/products/:sku/restock refuses an unknown field', async () => {
    const before = await stockOf('LMP-006')
    const res = await admin('POST', '/api/admin/products/LMP-006/restock', { units: 5, note: 'x' })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('has an unknown field "note"')
    expect(await stockOf('LMP-006')).toBe(before)
  })

  it('POST /api/admin/orders/:n/transitions refuses an unknown field; the order stays', async () => {
    const n = await placeOrder(t.app, items)
    const res = await api.transition(n, { to: 'packed', extra: 1 } as never, '"1"')
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('has an unknown field "extra"')
    expect((await api.get(n)).json()).toMatchObject({ status: 'placed', version: 1 })
    await api.move(n, 'packed')
    const ship = await api.transition(n, { to: 'shipped', ...shipping, extra: 1 } as never, '"2"')
    expect(ship.statusCode).toBe(400)
    expect((await api.get(n)).json()).toMatchObject({ status: 'packed', version: 2 })
  })
})
