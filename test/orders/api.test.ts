import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { foldSales } from '../../src/insights/sales-fold.ts'
import { buildTestApp, customer, customerIn, type TestApp } from '../helpers/context.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t?.close())

const post = (body: unknown, key: string | null = randomUUID()) =>
  t.app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: key === null ? {} : { 'idempotency-key': key },
    payload: body as object,
  })

const orderBody = (overrides: object = {}) => ({
  items: [{ sku: 'MUG-001', quantity: 2 }],
  customer,
  ...overrides,
})

describe('GET /api/products', () => {
  it('lists the catalogue with integer prices and images', async () => {
    const res = await t.app.inject('/api/products')
    expect(res.statusCode).toBe(200)
    const products = res.json()
    expect(products.length).toBeGreaterThanOrEqual(12)
    for (const p of products) {
      expect(Object.keys(p).sort()).toEqual([
        'description',
        'imageUrl',
        'name',
        'priceCents',
        'sku',
        'stock',
      ])
      expect(Number.isInteger(p.priceCents)).toBe(true)
      expect(p.imageUrl).toMatch(/^\/public\/images\/.+\.svg$/)
    }
    const image = await t.app.inject(products[0].imageUrl)
    expect(image.statusCode).toBe(200)
    expect(image.headers['content-type']).toContain('image/svg+xml')
  })
})

describe('POST /api/orders', () => {
  it('places an order: 201, Location and the order, prices captured in cents', async () => {
    const res = await post(
      orderBody({
        items: [
          { sku: 'MUG-001', quantity: 2 },
          { sku: 'LMP-006', quantity: 1 },
        ],
      }),
    )
    expect(res.statusCode).toBe(201)
    const order = res.json()
    expect(res.headers.location).toBe(`/api/orders/${order.orderNumber}`)
    expect(order).toMatchObject({
      orderNumber: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/),
      status: 'placed',
      totalCents: 2 * 1800 + 4900,
      items: [
        { sku: 'LMP-006', name: 'Lantern', quantity: 1, unitPriceCents: 4900 },
        { sku: 'MUG-001', name: 'Enamel Camp Mug', quantity: 2, unitPriceCents: 1800 },
      ],
      customer,
    })
    expect(new Date(order.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000)

    const read = await t.app.inject(res.headers.location as string)
    expect(read.statusCode).toBe(200)
    expect(read.json()).toEqual(order)
  })

  it('merges two lines of one product into one', async () => {
    const res = await post(
      orderBody({
        items: [
          { sku: 'NTB-009', quantity: 1 },
          { sku: 'NTB-009', quantity: 2 },
        ],
      }),
    )
    expect(res.statusCode).toBe(201)
    expect(res.json().items).toEqual([
      { sku: 'NTB-009', name: 'Field Notebook', quantity: 3, unitPriceCents: 1200 },
    ])
  })

  it('returns the same order for the same key and body, and takes stock once', async () => {
    const key = randomUUID()
    const stockBefore = await stockOf('CAP-003')
    const first = await post(orderBody({ items: [{ sku: 'CAP-003', quantity: 3 }] }), key)
    const again = await post(orderBody({ items: [{ sku: 'CAP-003', quantity: 3 }] }), key)
    expect(first.statusCode).toBe(201)
    expect(again.statusCode).toBe(200)
    expect(again.json()).toEqual(first.json())
    expect(await stockOf('CAP-003')).toBe(stockBefore - 3)
  })

  it('answers a retry with its order after the stock ran out or the product went off sale', async () => {
    // The first answer was lost; by the retry the order itself took the last units, or staff
    // took the product off sale: the key answers, not the stock or catalogue of now.
    await t.app.db.updateTable('products').set({ stock: 2 }).where('sku', '=', 'PRS-012').execute()
    const key = randomUUID()
    const body = orderBody({ items: [{ sku: 'PRS-012', quantity: 2 }] })
    const first = await post(body, key)
    expect(first.statusCode).toBe(201)
    const again = await post(body, key)
    expect(again.statusCode).toBe(200)
    expect(again.json()).toEqual(first.json())
    const other = await post(orderBody({ items: [{ sku: 'PRS-012', quantity: 1 }] }), key)
    expect(other.statusCode).toBe(422)

    await t.app.db.updateTable('products').set({ stock: 50 }).where('sku', '=', 'PRS-012').execute()
    const offKey = randomUUID()
    const offBody = orderBody({ items: [{ sku: 'PRS-012', quantity: 1 }] })
    expect((await post(offBody, offKey)).statusCode).toBe(201)
    await t.app.db
      .updateTable('products')
      .set({ on_sale: false })
      .where('sku', '=', 'PRS-012')
      .execute()
    try {
      const replay = await post(offBody, offKey)
      expect(replay.statusCode).toBe(200)
      expect(await stockOf('PRS-012')).toBe(49)
    } finally {
      await t.app.db
        .updateTable('products')
        .set({ on_sale: true })
        .where('sku', '=', 'PRS-012')
        .execute()
    }
  })

  it('refuses the same key with a different body with 422', async () => {
    const key = randomUUID()
    expect((await post(orderBody(), key)).statusCode).toBe(201)
    const res = await post(orderBody({ items: [{ sku: 'MUG-001', quantity: 5 }] }), key)
    expect(res.statusCode).toBe(422)
    const message = 'This Idempotency-Key was already used for a different order.'
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(res.json()).toEqual({
      type: 'tag:order-service.example,2026:problems/idempotency-key-reused',
      title: 'Idempotency-Key already used',
      status: 422,
      detail: message,
      statusCode: 422,
      error: 'Unprocessable Entity',
      message,
    })
  })

  it('answers 409 when stock is short, and takes none of it', async () => {
    await t.app.db.updateTable('products').set({ stock: 2 }).where('sku', '=', 'KNF-008').execute()
    const mugStock = await stockOf('MUG-001')
    const res = await post(
      orderBody({
        items: [
          { sku: 'MUG-001', quantity: 1 },
          { sku: 'KNF-008', quantity: 3 },
        ],
      }),
    )
    expect(res.statusCode).toBe(409)
    expect(res.json().message).toBe('Not enough stock left for KNF-008 (2 left).')
    expect(res.json().available).toEqual([{ sku: 'KNF-008', units: 2 }])
    expect(await stockOf('KNF-008')).toBe(2)
    expect(await stockOf('MUG-001')).toBe(mugStock)
  })

  it('names every invalid field in one 400', async () => {
    const res = await post({
      items: [{ sku: 'MUG-001', quantity: 0 }],
      customer: { ...customer, email: 'not-an-email', state: 'XX', zip: '123', name: '' },
    })
    expect(res.statusCode).toBe(400)
    const { message, error, statusCode } = res.json()
    expect({ error, statusCode }).toEqual({ error: 'Bad Request', statusCode: 400 })
    for (const field of [
      'items[0].quantity',
      'customer.email',
      'customer.state',
      'customer.zip',
      'customer.name',
    ]) {
      expect(message).toContain(field)
    }
  })

  it('requires an Idempotency-Key', async () => {
    const res = await post(orderBody(), null)
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('idempotency-key is required')
  })

  it('refuses an unknown product with 400', async () => {
    const res = await post(orderBody({ items: [{ sku: 'NOPE-1', quantity: 1 }] }))
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('NOPE-1')
  })

  it('rejects NUL bytes and control characters instead of failing in the database', async () => {
    const res = await post(orderBody({ customer: { ...customer, name: 'Ada\u0000Lovelace' } }))
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('customer.name')
  })

  it('answers malformed JSON with a 400 in the usual shape', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'x' },
      payload: '{"items": [',
    })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    // The usual shape: problem details (RFC 9457) beside statusCode, error and message.
    expect(Object.keys(res.json()).sort()).toEqual([
      'detail',
      'error',
      'message',
      'status',
      'statusCode',
      'title',
      'type',
    ])
    expect(res.body).not.toContain('    at ')
  })
})

describe('GET /api/orders/:orderNumber', () => {
  it('answers 404 for an unknown or malformed number', async () => {
    for (const n of ['ZZZZZ-ZZZZZ', 'nope', '1']) {
      const res = await t.app.inject(`/api/orders/${n}`)
      expect(res.statusCode).toBe(404)
      expect(res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' })
    }
  })

  it('accepts the number typed in lower case', async () => {
    const { orderNumber } = (await post(orderBody())).json()
    const res = await t.app.inject(`/api/orders/${orderNumber.toLowerCase()}`)
    expect(res.statusCode).toBe(200)
    expect(res.json().orderNumber).toBe(orderNumber)
  })

  it('accepts the number pasted with a non-breaking hyphen (U+2011) for its dash', async () => {
    const { orderNumber } = (await post(orderBody())).json()
    const pasted = encodeURIComponent(orderNumber.replace('-', '\u2011'))
    const res = await t.app.inject(`/api/orders/${pasted}`)
    expect(res.statusCode).toBe(200)
    expect(res.json().orderNumber).toBe(orderNumber)
  })
})

describe('GET /api/states/:state/top-products', () => {
  it('lists at most three products, most units first, once sales are folded', async () => {
    const vt = customerIn('VT')
    for (const [sku, quantity] of [
      ['BLK-007', 5],
      ['SCK-010', 3],
      ['PRS-012', 2],
      ['HMK-011', 1],
    ] as const) {
      expect((await post({ items: [{ sku, quantity }], customer: vt })).statusCode).toBe(201)
    }
    await foldSales(t.app.db)
    const res = await t.app.inject('/api/states/VT/top-products')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      state: 'VT',
      products: [
        { sku: 'BLK-007', name: 'Wool Blanket', units: 5 },
        { sku: 'SCK-010', name: 'Hiking Socks', units: 3 },
        { sku: 'PRS-012', name: 'Coffee Press', units: 2 },
      ],
    })
  })

  it('answers 400 for a state that does not exist', async () => {
    const res = await t.app.inject('/api/states/XX/top-products')
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('state must be one of the 50 states or DC')
  })
})

describe('OpenAPI', () => {
  it('serves the description at /openapi.json and the UI at /docs', async () => {
    const spec = (await t.app.inject('/openapi.json')).json()
    expect(spec.openapi).toMatch(/^3\./)
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/api/orders',
        '/api/orders/{orderNumber}',
        '/api/products',
        '/api/states/{state}/top-products',
      ]),
    )
    expect(Object.keys(spec.paths).every((p) => p.startsWith('/api/'))).toBe(true)
    // The body schema shows the canonical forms (sku ^[A-Z0-9-]…$, state AL…WY); the
    // description says lower case and the other spellings are taken too, put in that form first.
    expect(spec.paths['/api/orders'].post.description).toContain('sku and state in any case')
    const ui = await t.app.inject('/docs/')
    expect(ui.statusCode).toBe(200)
    expect(ui.body).toContain('swagger')
  })

  it('answers unknown routes with a JSON 404', async () => {
    const res = await t.app.inject('/api/nothing-here')
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' })
  })
})

async function stockOf(sku: string): Promise<number> {
  const row = await t.app.db
    .selectFrom('products')
    .select('stock')
    .where('sku', '=', sku)
    .executeTakeFirstOrThrow()
  return row.stock
}
