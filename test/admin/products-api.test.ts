import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { placeOrderBatch } from '../../src/orders/place-order-batch.ts'
import type { OrderRequest } from '../../src/orders/schemas.ts'
import { buildTestApp, customer, stock, type TestApp, usingPostgres } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

let t: TestApp
let token: string
const stockOf = stock(() => t.app.db)

beforeAll(async () => {
  t = await buildTestApp()
  // The products are staff work: a member without the admin role does all of it.
  token = await addToken(t.app, await addStaff(t.app, 'clerk@example.com', 'staff'))
})
afterAll(() => t?.close())

const api = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown, auth = true) =>
  t.app.inject({
    method,
    url,
    headers: auth ? { authorization: `Bearer ${token}` } : {},
    ...(payload === undefined ? {} : { payload: payload as object }),
  })

/** Row counts of every table a product change must leave alone. */
async function otherTables() {
  const counts: Record<string, number> = {}
  for (const table of [
    'orders',
    'order_lines',
    'sales_queue',
    'sales_queue_batches',
    'order_events',
  ] as const) {
    const { n } = await t.app.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow()
    counts[table] = Number(n)
  }
  return counts
}

const orderRequest = (sku: string, quantity = 1): OrderRequest => ({
  items: [{ sku, quantity }],
  customer,
  idempotencyKey: randomUUID(),
})

describe('GET /api/admin/products', () => {
  it('lists every product with stock, price and on sale; 401 without a token', async () => {
    expect((await api('GET', '/api/admin/products', undefined, false)).statusCode).toBe(401)
    const res = await api('GET', '/api/admin/products')
    expect(res.statusCode).toBe(200)
    const mug = res.json().find((p: { sku: string }) => p.sku === 'MUG-001')
    expect(mug).toMatchObject({ sku: 'MUG-001', priceCents: 1800, stock: 100_000, onSale: true })
    expect(res.json()).toHaveLength(14)
  })
})

describe('POST /api/admin/products/:sku/restock', () => {
  it('adds the units to the stock, and writes nothing else', async () => {
    await stockOf.set('TEE-002', 7)
    const before = await otherTables()
    const res = await api('POST', '/api/admin/products/tee-002/restock', { units: 250 })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ sku: 'TEE-002', stock: 257, onSale: true })
    expect(await stockOf.of('TEE-002')).toBe(257)
    expect(await otherTables()).toEqual(before)
  })

  it('adds to the stock as it is, concurrent restocks and orders included', async () => {
    await stockOf.set('CAP-003', 1000)
    await Promise.all([
      ...Array.from({ length: 10 }, () =>
        api('POST', '/api/admin/products/CAP-003/restock', { units: 5 }),
      ),
      ...Array.from({ length: 5 }, () => placeOrder(t.app, [{ sku: 'CAP-003', quantity: 2 }])),
    ])
    expect(await stockOf.of('CAP-003')).toBe(1000 + 50 - 10)
  })

  it('refuses units outside 1..1,000,000 or not an integer (400), an unknown SKU (404)', async () => {
    await stockOf.set('MUG-001', 100)
    for (const units of [0, -5, 1_000_001, 1.5, '5', true, null]) {
      const res = await api('POST', '/api/admin/products/MUG-001/restock', { units })
      expect(res.statusCode, String(units)).toBe(400)
      expect(res.json().message).toContain('units')
    }
    expect((await api('POST', '/api/admin/products/MUG-001/restock', {})).statusCode).toBe(400)
    // Written as a non-integer, refused as 1.5 is, though JSON.parse reads it as the integer 5.
    const inexact = await t.app.inject({
      method: 'POST',
      url: '/api/admin/products/MUG-001/restock',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: '{"units":5.00000000000000001}',
    })
    expect(inexact.statusCode).toBe(400)
    const half = await api('POST', '/api/admin/products/MUG-001/restock', { units: 1.5 })
    expect(inexact.json().message).toBe(half.json().message)
    const max = await api('POST', '/api/admin/products/MUG-001/restock', { units: 1_000_000 })
    expect(max.json().stock).toBe(1_000_100)
    const unknown = await api('POST', '/api/admin/products/NOPE-1/restock', { units: 1 })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().message).toBe('There is no product NOPE-1.')
    // A blank SKU is said in words, not echoed as nothing (a newcomer's review).
    const blank = await api('POST', '/api/admin/products/%20/restock', { units: 1 })
    expect(blank.statusCode).toBe(404)
    expect(blank.json().message).toBe('There is no product with a blank SKU.')
    const patched = await api('PATCH', '/api/admin/products/%20', { onSale: false })
    expect(patched.json().message).toBe('There is no product with a blank SKU.')
  })

  it('refuses a restock that would pass the integer stock column with 409, stock unchanged', async () => {
    await stockOf.set('NTB-009', 2_147_000_000)
    const res = await api('POST', '/api/admin/products/NTB-009/restock', { units: 1_000_000 })
    expect(res.statusCode).toBe(409)
    expect(res.json().message).toContain('NTB-009 has 2,147,000,000 units')
    expect(await stockOf.of('NTB-009')).toBe(2_147_000_000)
    await stockOf.set('NTB-009', 100_000)
  })
})

describe('POST /api/admin/products/:sku/restock with If-Match', () => {
  const restock = (sku: string, units: number, ifMatch: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/admin/products/${sku}/restock`,
      headers: { authorization: `Bearer ${token}`, 'if-match': ifMatch },
      payload: { units },
    })
  const versionOf = async (sku: string) => {
    const all = (await api('GET', '/api/admin/products')).json() as {
      sku: string
      version: number
    }[]
    return all.find((p) => p.sku === sku)?.version as number
  }

  it('adds once for a retry of the same request: 412 and nothing added the second time', async () => {
    await stockOf.set('BAG-004', 10)
    const version = await versionOf('BAG-004')
    const first = await restock('BAG-004', 5, `"${version}"`)
    expect(first.statusCode, first.body).toBe(200)
    expect(first.json()).toMatchObject({ stock: 15, version: version + 1 })
    const retry = await restock('BAG-004', 5, `"${version}"`)
    expect(retry.statusCode).toBe(412)
    expect(retry.json().message).toMatch(/^BAG-004 changed meanwhile .*nothing was added/)
    expect(await stockOf.of('BAG-004')).toBe(15)
    // The version as it is now (or a list naming it) adds again.
    expect((await restock('BAG-004', 5, `"1000", "${version + 1}"`)).statusCode).toBe(200)
    expect(await stockOf.of('BAG-004')).toBe(20)
  })

  it('refuses a malformed If-Match (400) and a weak tag (412), adding nothing', async () => {
    await stockOf.set('BAG-004', 10)
    const version = await versionOf('BAG-004')
    expect((await restock('BAG-004', 5, 'junk')).statusCode).toBe(400)
    const weak = await restock('BAG-004', 5, `W/"${version}"`)
    expect(weak.statusCode).toBe(412)
    expect(weak.json().message).toMatch(/weak/)
    expect((await restock('NOPE-1', 5, '"1"')).statusCode).toBe(404)
    expect(await stockOf.of('BAG-004')).toBe(10)
  })

  it('answers If-Match: * unconditionally, as any existing product matches it (RFC 9110 §13.1.1)', async () => {
    await stockOf.set('BAG-004', 10)
    const star = await restock('BAG-004', 5, '*')
    expect(star.statusCode, star.body).toBe(200)
    expect(await stockOf.of('BAG-004')).toBe(15)
    // No product, no current representation: the 404 the request would get without it.
    expect((await restock('NOPE-1', 5, '*')).statusCode).toBe(404)
  })

  it('counts a price or sale change as a change: the version grows', async () => {
    const version = await versionOf('LMP-006')
    const patched = await api('PATCH', '/api/admin/products/LMP-006', { onSale: true })
    expect(patched.json().version).toBe(version + 1)
    expect((await restock('LMP-006', 1, `"${version}"`)).statusCode).toBe(412)
  })
})

describe('PATCH /api/admin/products/:sku', () => {
  it('sets the price for new orders; placed orders keep the price they captured', async () => {
    const before = await placeOrder(t.app, [{ sku: 'BTL-005', quantity: 2 }])
    const res = await api('PATCH', '/api/admin/products/BTL-005', { priceCents: 4150 })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ sku: 'BTL-005', priceCents: 4150 })
    const after = await placeOrder(t.app, [{ sku: 'BTL-005', quantity: 2 }])

    const old = (await t.app.inject(`/api/orders/${before}`)).json()
    expect(old.items[0]).toMatchObject({ sku: 'BTL-005', unitPriceCents: 3500 })
    expect(old.totalCents).toBe(7000)
    const fresh = (await t.app.inject(`/api/orders/${after}`)).json()
    expect(fresh.items[0]).toMatchObject({ sku: 'BTL-005', unitPriceCents: 4150 })
    expect(fresh.totalCents).toBe(8300)
    const catalogue = (await t.app.inject('/api/products')).json()
    expect(catalogue.find((p: { sku: string }) => p.sku === 'BTL-005').priceCents).toBe(4150)
  })

  it('refuses a bad price, an empty or unknown change (400), an unknown SKU (404)', async () => {
    for (const body of [
      { priceCents: 0 },
      { priceCents: 10_000_001 },
      { priceCents: 12.5 },
      { priceCents: '1800' },
      { onSale: 'false' },
      {},
      { stock: 5 },
    ]) {
      const res = await api('PATCH', '/api/admin/products/MUG-001', body)
      expect(res.statusCode, JSON.stringify(body)).toBe(400)
    }
    expect((await api('PATCH', '/api/admin/products/NOPE-1', { onSale: false })).statusCode).toBe(
      404,
    )
    const mug = (await api('GET', '/api/admin/products')).json()[0]
    expect(mug).toMatchObject({ sku: 'BAG-004', priceCents: 12900, onSale: true })
  })
})

describe("PATCH /api/admin/products/:sku with If-Match (a newcomer's review: it was ignored)", () => {
  const patch = (sku: string, body: object, ifMatch: string) =>
    t.app.inject({
      method: 'PATCH',
      url: `/api/admin/products/${sku}`,
      headers: { authorization: `Bearer ${token}`, 'if-match': ifMatch },
      payload: body,
    })
  const read = async (sku: string) => {
    const all = (await api('GET', '/api/admin/products')).json() as {
      sku: string
      version: number
      priceCents: number
    }[]
    return all.find((p) => p.sku === sku) as { version: number; priceCents: number }
  }

  it('changes only at the version it names: a change made meanwhile answers 412, nothing written', async () => {
    const { version, priceCents } = await read('HMK-011')
    const first = await patch('HMK-011', { priceCents: priceCents + 100 }, `"${version}"`)
    expect(first.statusCode, first.body).toBe(200)
    expect(first.json()).toMatchObject({ priceCents: priceCents + 100, version: version + 1 })
    // A second client decided on the same version: it does not overwrite the first's price.
    const second = await patch('HMK-011', { priceCents: priceCents + 200 }, `"${version}"`)
    expect(second.statusCode).toBe(412)
    expect(second.json().message).toMatch(/^HMK-011 changed meanwhile .*nothing was changed/)
    expect(await read('HMK-011')).toMatchObject({
      priceCents: priceCents + 100,
      version: version + 1,
    })
    // The version as it is now (or a list naming it) changes again.
    const again = await patch('HMK-011', { priceCents }, `"1000", "${version + 1}"`)
    expect(again.statusCode).toBe(200)
  })

  it('refuses a malformed If-Match (400) and a weak tag (412); * and none are unconditional', async () => {
    const { version, priceCents } = await read('HMK-011')
    expect((await patch('HMK-011', { priceCents: 1 }, 'junk')).statusCode).toBe(400)
    expect((await patch('HMK-011', { priceCents: 1 }, '1')).statusCode).toBe(400)
    const weak = await patch('HMK-011', { priceCents: 1 }, `W/"${version}"`)
    expect(weak.statusCode).toBe(412)
    expect(weak.json().message).toMatch(/weak/)
    expect(await read('HMK-011')).toMatchObject({ priceCents, version })
    expect((await patch('NOPE-1', { onSale: false }, `"${version}"`)).statusCode).toBe(404)
    expect((await patch('NOPE-1', { onSale: false }, '*')).statusCode).toBe(404)
    const star = await patch('HMK-011', { priceCents: priceCents + 1 }, '*')
    expect(star.statusCode).toBe(200)
    expect(star.json()).toMatchObject({ priceCents: priceCents + 1, version: version + 1 })
    const none = await api('PATCH', '/api/admin/products/HMK-011', { priceCents })
    expect(none.json()).toMatchObject({ priceCents, version: version + 2 })
  })
})

describe('a product off sale', () => {
  it('is not in GET /api/products and is refused by POST /api/orders, then orderable again', async () => {
    const before = await otherTables()
    const off = await api('PATCH', '/api/admin/products/LMP-006', { onSale: false })
    expect(off.statusCode).toBe(200)
    expect(off.json()).toMatchObject({ sku: 'LMP-006', onSale: false })
    expect(await otherTables()).toEqual(before)

    const catalogue = (await t.app.inject('/api/products')).json()
    expect(catalogue.map((p: { sku: string }) => p.sku)).not.toContain('LMP-006')
    expect(catalogue).toHaveLength(13)
    const admin = (await api('GET', '/api/admin/products')).json()
    expect(admin.find((p: { sku: string }) => p.sku === 'LMP-006').onSale).toBe(false)

    const stockBefore = await stockOf.of('LMP-006')
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: {
        items: [
          { sku: 'MUG-001', quantity: 1 },
          { sku: 'LMP-006', quantity: 1 },
        ],
        customer,
      },
    })
    expect(refused.statusCode).toBe(400)
    expect(refused.json().message).toBe('items: unknown product or not on sale: LMP-006.')
    expect(await stockOf.of('LMP-006')).toBe(stockBefore)
    expect(await otherTables()).toEqual(before)

    await api('PATCH', '/api/admin/products/LMP-006', { onSale: true })
    await placeOrder(t.app, [{ sku: 'LMP-006', quantity: 1 }])
    expect(await stockOf.of('LMP-006')).toBe(stockBefore - 1)
  })

  it('is refused by the batch statement, its neighbours placed', async () => {
    await api('PATCH', '/api/admin/products/KNF-008', { onSale: false })
    const knives = await stockOf.of('KNF-008')
    const results = await placeOrderBatch(t.app.db, [
      orderRequest('SCK-010'),
      orderRequest('KNF-008'),
      orderRequest('GLV-013'),
    ])
    expect(results.map((r) => (r instanceof Error ? r.message : r.kind))).toEqual([
      'placed',
      'unknown-product',
      'placed',
    ])
    expect(await stockOf.of('KNF-008')).toBe(knives)
    await api('PATCH', '/api/admin/products/KNF-008', { onSale: true })
  })
})

// An order that waits on the product's row lock while a change to it commits must see the
// change: the order statements read price and on_sale from the row they lock.
describe.skipIf(!usingPostgres)('a change committed while an order waits (PostgreSQL only)', () => {
  async function whileLocked(change: string, during: () => Promise<unknown>) {
    const other = new pg.Client({ connectionString: t.config.DATABASE_URL })
    await other.connect()
    try {
      await other.query('begin')
      await other.query(change)
      const pending = during()
      // Long enough for the order to reach the lock and wait on it.
      await new Promise((r) => setTimeout(r, 300))
      await other.query('commit')
      return await pending
    } finally {
      await other.end()
    }
  }

  const order = (sku: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: { items: [{ sku, quantity: 1 }], customer },
    })

  it('an order waiting on the row is refused once the product went off sale', async () => {
    const res = (await whileLocked(
      "update products set on_sale = false where sku = 'PRS-012'",
      () => order('PRS-012'),
    )) as Awaited<ReturnType<typeof order>>
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('PRS-012')
    await api('PATCH', '/api/admin/products/PRS-012', { onSale: true })
  })

  it('an order waiting on the row captures the price committed meanwhile', async () => {
    const res = (await whileLocked(
      "update products set price_cents = 5555 where sku = 'CHR-014'",
      () => order('CHR-014'),
    )) as Awaited<ReturnType<typeof order>>
    expect(res.statusCode).toBe(201)
    expect(res.json().items[0].unitPriceCents).toBe(5555)
  })
})

describe('the OpenAPI document', () => {
  it('describes the product routes for staff with the staffToken scheme', async () => {
    const doc = (await t.app.inject('/openapi.json')).json()
    for (const [path, method] of [
      ['/api/admin/products', 'get'],
      ['/api/admin/products/{sku}/restock', 'post'],
      ['/api/admin/products/{sku}', 'patch'],
    ] as const) {
      expect(doc.paths[path]?.[method]?.security, `${method} ${path}`).toEqual([{ staffToken: [] }])
    }
  })
})
