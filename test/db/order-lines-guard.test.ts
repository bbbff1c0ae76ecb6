import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { placeOrder as placeOrderDirect } from '../../src/orders/place-order.ts'
import { placeOrderBatch } from '../../src/orders/place-order-batch.ts'
import { buildTestApp, customer, stock, type TestApp } from '../helpers/context.ts'

// order_lines has no foreign keys (migration 0011): its lines are written only by the order
// statements, and a delete of an order or product that has lines is refused by a trigger, as the
// foreign keys refused it. On PGlite and PostgreSQL.
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp({ RATE_LIMIT_MAX: '0' })
})
afterAll(() => t?.close())

const db = () => t.app.db
const request = (sku: string, quantity = 1) => ({
  items: [{ sku, quantity }],
  customer,
  idempotencyKey: randomUUID(),
})

it('every line the order statements write points at its order and a product', async () => {
  await stock(db).set('MUG-001', 100)
  await stock(db).set('TEE-002', 100)
  await placeOrderDirect(db(), request('MUG-001', 2))
  await placeOrderBatch(db(), [request('MUG-001'), request('TEE-002', 3), request('TEE-002')])
  const { rows } = await sql<{ lines: number; orphans: number }>`
    select count(*)::int as lines,
           count(*) filter (where o.id is null or p.id is null)::int as orphans
    from order_lines l
    left join orders o on o.id = l.order_id
    left join products p on p.id = l.product_id`.execute(db())
  expect(rows[0]?.lines).toBeGreaterThanOrEqual(4)
  expect(rows[0]?.orphans).toBe(0)
})

it('refuses to delete an order or a product that has lines (23503), and deletes one that has none', async () => {
  await stock(db).set('CAP-003', 10)
  const placed = await placeOrderDirect(db(), request('CAP-003'))
  if (placed.kind !== 'placed') throw new Error(placed.kind)
  const number = placed.order.orderNumber
  await expect(
    sql`delete from orders where order_number = ${number}`.execute(db()),
  ).rejects.toMatchObject({ code: '23503', message: expect.stringMatching(/has order lines/) })
  await expect(sql`delete from products where sku = 'CAP-003'`.execute(db())).rejects.toMatchObject(
    { code: '23503', message: expect.stringMatching(/has order lines/) },
  )
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from orders where order_number = ${number}`.execute(db())
  expect(rows).toEqual([{ n: 1 }])
  // A product no order has bought goes.
  await sql`insert into products (sku, name, description, price_cents, image_path, stock)
            values ('ZZZ-999', 'Unsold', 'x', 100, '/x.svg', 1)`.execute(db())
  await sql`delete from products where sku = 'ZZZ-999'`.execute(db())
})
