import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { placeOrder } from '../../src/orders/place-order.ts'
import { buildTestApp, customer, stock, type TestApp } from '../helpers/context.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp({ DATABASE_POOL_SIZE: '20' })
})
afterAll(() => t?.close())

const { set: setStock, of: stockOf } = stock(() => t.app.db)
const linesOf = async (sku: string) =>
  Number(
    (
      await t.app.db
        .selectFrom('order_lines as l')
        .innerJoin('products as p', 'p.id', 'l.product_id')
        .select((eb) => eb.fn.sum<string>('l.quantity').as('units'))
        .where('p.sku', '=', sku)
        .executeTakeFirstOrThrow()
    ).units ?? 0,
  )

describe('concurrent orders', () => {
  it('50 orders racing for the last 5 units yield exactly 5 orders', async () => {
    await setStock('LMP-006', 5)
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        t.app.inject({
          method: 'POST',
          url: '/api/orders',
          headers: { 'idempotency-key': randomUUID() },
          payload: { items: [{ sku: 'LMP-006', quantity: 1 }], customer },
        }),
      ),
    )
    const codes = results.map((r) => r.statusCode)
    expect(codes.filter((c) => c === 201)).toHaveLength(5)
    expect(codes.filter((c) => c === 409)).toHaveLength(45)
    expect(await stockOf('LMP-006')).toBe(0)
    expect(await linesOf('LMP-006')).toBe(5)
  })

  it('multi-line orders in opposite orders never oversell or deadlock', async () => {
    await setStock('KNF-008', 10)
    await setStock('PRS-012', 10)
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        placeOrder(t.app.db, {
          items:
            i % 2 === 0
              ? [
                  { sku: 'KNF-008', quantity: 1 },
                  { sku: 'PRS-012', quantity: 2 },
                ]
              : [
                  { sku: 'PRS-012', quantity: 1 },
                  { sku: 'KNF-008', quantity: 2 },
                ],
          customer,
          idempotencyKey: randomUUID(),
        }),
      ),
    )
    const placed = results.filter((r) => r.kind === 'placed').length
    expect(placed).toBeGreaterThan(0)
    expect(results.every((r) => r.kind === 'placed' || r.kind === 'out-of-stock')).toBe(true)
    const knives = await stockOf('KNF-008')
    const presses = await stockOf('PRS-012')
    expect(knives).toBeGreaterThanOrEqual(0)
    expect(presses).toBeGreaterThanOrEqual(0)
    expect(await linesOf('KNF-008')).toBe(10 - knives)
    expect(await linesOf('PRS-012')).toBe(10 - presses)
  })

  it('the same key sent 20 times at once makes one order', async () => {
    const key = randomUUID()
    const before = await stockOf('MUG-001')
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        placeOrder(t.app.db, {
          items: [{ sku: 'MUG-001', quantity: 2 }],
          customer,
          idempotencyKey: key,
        }),
      ),
    )
    const numbers = new Set(results.map((r) => ('order' in r ? r.order.orderNumber : r.kind)))
    expect(numbers.size).toBe(1)
    expect(results.filter((r) => r.kind === 'placed')).toHaveLength(1)
    expect(await stockOf('MUG-001')).toBe(before - 2)
  })
})
