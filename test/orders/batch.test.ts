import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { orderBatcher } from '../../src/orders/order-batcher.ts'
import { placeOrder } from '../../src/orders/place-order.ts'
import { placeOrderBatch } from '../../src/orders/place-order-batch.ts'
import type { PlaceOrderResult } from '../../src/orders/placement.ts'
import type { OrderRequest } from '../../src/orders/schemas.ts'
import { buildTestApp, customer, stock, type TestApp } from '../helpers/context.ts'
import { queuedSales } from '../helpers/insights.ts'

// Orders placed together share one statement and one transaction (src/orders/place-orders.ts);
// each must still come out exactly as if it had been placed alone.
let t: TestApp
let single: TestApp
beforeAll(async () => {
  ;[t, single] = await Promise.all([
    buildTestApp({ DATABASE_POOL_SIZE: '20' }),
    buildTestApp({ ORDER_BATCH_MAX: '1' }),
  ])
})
afterAll(() => Promise.all([t?.close(), single?.close()]))

const { set: setStock, of: stockOf } = stock(() => t.app.db)
const request = (items: OrderRequest['items'], key = randomUUID()): OrderRequest => ({
  items,
  customer,
  idempotencyKey: key,
})
const numbersOf = (results: (PlaceOrderResult | Error)[]) =>
  results.map((r) => (!(r instanceof Error) && 'order' in r ? r.order.orderNumber : ''))
/** How many transactions wrote these orders: xmin is the id of the one that inserted a row. */
const transactions = async (db: TestApp['app']['db'], numbers: string[]) => {
  const { rows } = await sql<{ n: string }>`
    select count(distinct xmin::text) as n from orders
    where order_number = any(${numbers}::text[])`.execute(db)
  return Number(rows[0]?.n)
}
const kinds = (results: (PlaceOrderResult | Error)[]) =>
  results.map((r) => (r instanceof Error ? r.message : r.kind))

/** Each order as stored: its lines, its total and its queued sales agree with what was answered. */
async function expectStoredAsAnswered(results: (PlaceOrderResult | Error)[]) {
  for (const r of results) {
    if (r instanceof Error || r.kind !== 'placed') continue
    const { rows } = await sql<{ total_cents: string; lines: string; units: string }>`
      select o.total_cents,
             (select count(*) from order_lines l where l.order_id = o.id) as lines,
             (select coalesce(sum(l.quantity), 0) from order_lines l where l.order_id = o.id) as units
      from orders o where o.order_number = ${r.order.orderNumber}`.execute(t.app.db)
    expect(rows).toHaveLength(1)
    expect(Number(rows[0]?.total_cents)).toBe(r.order.totalCents)
    expect(Number(rows[0]?.lines)).toBe(r.order.items.length)
    expect(Number(rows[0]?.units)).toBe(r.order.items.reduce((s, i) => s + i.quantity, 0))
  }
}

describe('placeOrderBatch: several orders in one statement', () => {
  it('places every order when stock suffices, in one transaction, queueing each sale once', async () => {
    await setStock('MUG-001', 100)
    await setStock('LMP-006', 100)
    const queued = async () =>
      (
        await sql<{ units: string; orders: string }>`
          select coalesce(sum(units), 0) as units, coalesce(sum(orders), 0) as orders
          from ${queuedSales}`.execute(t.app.db)
      ).rows[0]
    const before = await queued()
    const results = await placeOrderBatch(
      t.app.db,
      Array.from({ length: 10 }, (_, i) =>
        request(
          i % 2
            ? [{ sku: 'MUG-001', quantity: 2 }]
            : [
                { sku: 'LMP-006', quantity: 1 },
                { sku: 'MUG-001', quantity: 1 },
              ],
        ),
      ),
    )
    expect(kinds(results)).toEqual(Array(10).fill('placed'))
    expect(await stockOf('MUG-001')).toBe(100 - 5 * 2 - 5)
    expect(await stockOf('LMP-006')).toBe(100 - 5)
    await expectStoredAsAnswered(results)
    expect(await transactions(t.app.db, numbersOf(results))).toBe(1)
    const after = await queued()
    expect(Number(after?.units) - Number(before?.units)).toBe(20)
    expect(Number(after?.orders) - Number(before?.orders)).toBe(10)
  })

  it('sells the last units to the first orders, and answers the rest out of stock', async () => {
    await setStock('KNF-008', 5)
    const results = await placeOrderBatch(
      t.app.db,
      Array.from({ length: 8 }, () => request([{ sku: 'KNF-008', quantity: 1 }])),
    )
    expect(kinds(results)).toEqual([...Array(5).fill('placed'), ...Array(3).fill('out-of-stock')])
    // Refused ones are answered by placeOrder on its own: the exact units left, 0 here.
    for (const r of results.slice(5)) {
      expect(r).toMatchObject({ available: [{ sku: 'KNF-008', units: 0 }] })
    }
    expect(await stockOf('KNF-008')).toBe(0)
  })

  it('does not let a rejected order hold back the stock the next one needs', async () => {
    // The batch's running sum counts the first order's 3 lamps, which it never takes.
    await setStock('LMP-006', 5)
    await setStock('PRS-012', 10)
    const results = await placeOrderBatch(t.app.db, [
      request([
        { sku: 'LMP-006', quantity: 3 },
        { sku: 'PRS-012', quantity: 100 },
      ]),
      request([{ sku: 'LMP-006', quantity: 3 }]),
    ])
    expect(kinds(results)).toEqual(['out-of-stock', 'placed'])
    // Only the line that is short is named, with what was left when it was refused.
    expect(results[0]).toMatchObject({
      skus: ['PRS-012'],
      available: [{ sku: 'PRS-012', units: 10 }],
    })
    expect(await stockOf('LMP-006')).toBe(2)
    expect(await stockOf('PRS-012')).toBe(10)
  })

  it('answers each idempotency key as alone: replayed, reused or new, even twice in one batch', async () => {
    await setStock('MUG-001', 100)
    const earlier = request([{ sku: 'MUG-001', quantity: 1 }])
    const [first] = await placeOrderBatch(t.app.db, [earlier])
    const key = randomUUID()
    const results = await placeOrderBatch(t.app.db, [
      request([{ sku: 'MUG-001', quantity: 1 }], key),
      earlier,
      request([{ sku: 'MUG-001', quantity: 1 }], key),
      request([{ sku: 'MUG-001', quantity: 9 }], key),
      { ...earlier, items: [{ sku: 'MUG-001', quantity: 2 }] },
      request([{ sku: 'NOPE-000', quantity: 1 }]),
    ])
    expect(kinds(results)).toEqual([
      'placed',
      'replayed',
      'replayed',
      'key-reused',
      'key-reused',
      'unknown-product',
    ])
    const number = (r: PlaceOrderResult | Error | undefined) =>
      r && !(r instanceof Error) && 'order' in r ? r.order.orderNumber : undefined
    expect(number(results[1])).toBe(number(first))
    expect(number(results[2])).toBe(number(results[0]))
    expect(await stockOf('MUG-001')).toBe(100 - 1 - 1)
  })

  it('answers a key another transaction commits while the batch runs as replayed, and places its neighbours', async () => {
    await setStock('MUG-001', 100)
    const raced = request([{ sku: 'MUG-001', quantity: 1 }])
    let batch: Promise<(PlaceOrderResult | Error)[]> | undefined
    const first = await t.app.db.transaction().execute(async (trx) => {
      const placed = await placeOrder(trx, raced)
      // Started while that order is written but not committed: on PostgreSQL the statement waits
      // for its product, then meets its key in the unique index (23505), and every order of the
      // batch is placed on its own.
      batch = placeOrderBatch(t.app.db, [
        request([{ sku: 'MUG-001', quantity: 1 }]),
        raced,
        request([{ sku: 'MUG-001', quantity: 2 }]),
      ])
      await new Promise((resolve) => setTimeout(resolve, 300))
      return placed
    })
    const results = await (batch as Promise<(PlaceOrderResult | Error)[]>)
    expect(kinds(results)).toEqual(['placed', 'replayed', 'placed'])
    expect(numbersOf(results)[1]).toBe(numbersOf([first])[0])
    expect(await stockOf('MUG-001')).toBe(100 - 1 - 1 - 2)
    await expectStoredAsAnswered(results)
  })

  it('stores every field of every order in a batch exactly as sent, whatever its characters', async () => {
    await setStock('MUG-001', 1_000_000)
    // The batch passes each field as one element of a PostgreSQL array: quotes, backslashes,
    // braces, commas and the word NULL must come back as themselves.
    const field = fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      fc.constantFrom(
        'NULL',
        'null',
        '"',
        '\\',
        '\\"',
        '{}',
        '{a,b}',
        ',',
        "'",
        ' spaced ',
        'Zoë 🍕',
      ),
    )
    const someone = fc.record({
      name: field,
      email: field,
      address: field,
      city: field,
      state: fc.constantFrom('TX', 'CA', 'VT'),
      zip: field,
    })
    await fc.assert(
      fc.asyncProperty(fc.array(someone, { minLength: 2, maxLength: 6 }), async (people) => {
        const sent = people.map((c) => ({
          ...request([{ sku: 'MUG-001', quantity: 1 }]),
          customer: c,
        }))
        const results = await placeOrderBatch(t.app.db, sent)
        expect(kinds(results)).toEqual(Array(sent.length).fill('placed'))
        const { rows } = await sql<Record<string, string>>`
          select order_number, customer_name as name, email, address, city, state, zip
          from orders where order_number = any(${numbersOf(results)}::text[])`.execute(t.app.db)
        const stored = new Map(rows.map(({ order_number, ...c }) => [order_number, c]))
        for (const [i, r] of results.entries()) {
          const number = numbersOf([r])[0] as string
          expect(stored.get(number)).toEqual(sent[i]?.customer)
        }
      }),
      { numRuns: 40 },
    )
  })

  it('fails only the order the database refuses, and places its neighbours', async () => {
    await setStock('MUG-001', 100)
    // Validation stops this before the database in the app; here it reaches the statement.
    const bad = {
      ...request([{ sku: 'MUG-001', quantity: 1 }]),
      customer: { ...customer, state: 'TEXAS' },
    }
    const results = await placeOrderBatch(t.app.db, [
      request([{ sku: 'MUG-001', quantity: 1 }]),
      bad,
      request([{ sku: 'MUG-001', quantity: 1 }]),
    ])
    expect(results[0]).toMatchObject({ kind: 'placed' })
    expect(results[1]).toBeInstanceOf(Error)
    expect(results[2]).toMatchObject({ kind: 'placed' })
    expect(await stockOf('MUG-001')).toBe(98)
  })

  it('never oversells or deadlocks with batches racing on many connections', async () => {
    await setStock('KNF-008', 30)
    await setStock('PRS-012', 30)
    const batches = await Promise.all(
      Array.from({ length: 8 }, (_, b) =>
        placeOrderBatch(
          t.app.db,
          Array.from({ length: 6 }, (_, i) =>
            request(
              (b + i) % 2
                ? [
                    { sku: 'KNF-008', quantity: 1 },
                    { sku: 'PRS-012', quantity: 2 },
                  ]
                : [
                    { sku: 'PRS-012', quantity: 1 },
                    { sku: 'KNF-008', quantity: 2 },
                  ],
            ),
          ),
        ),
      ),
    )
    const results = batches.flat()
    expect(results.every((r) => !(r instanceof Error))).toBe(true)
    const placed = results.filter((r) => !(r instanceof Error) && r.kind === 'placed')
    expect(placed.length).toBeGreaterThan(0)
    const units = (sku: string) =>
      placed.reduce(
        (s, r) =>
          s + ('order' in r ? (r.order.items.find((i) => i.sku === sku)?.quantity ?? 0) : 0),
        0,
      )
    expect(await stockOf('KNF-008')).toBe(30 - units('KNF-008'))
    expect(await stockOf('PRS-012')).toBe(30 - units('PRS-012'))
    // Nothing left that another order could still have taken.
    expect(Math.min(await stockOf('KNF-008'), await stockOf('PRS-012'))).toBeLessThan(3)
    await expectStoredAsAnswered(results)
  })
})

describe('the order batcher', () => {
  const concurrentOrders = (app: TestApp['app'], n: number) =>
    Promise.all(
      Array.from({ length: n }, () => app.orders.place(request([{ sku: 'CHR-014', quantity: 1 }]))),
    )

  it('places the orders that arrive together in one transaction', async () => {
    const results = await concurrentOrders(t.app, 20)
    expect(results.every((r) => r.kind === 'placed')).toBe(true)
    expect(await transactions(t.app.db, numbersOf(results))).toBe(1)
  })

  it('places each order in its own transaction with ORDER_BATCH_MAX=1', async () => {
    const results = await concurrentOrders(single.app, 20)
    expect(results.every((r) => r.kind === 'placed')).toBe(true)
    expect(await transactions(single.app.db, numbersOf(results))).toBe(20)
  })

  it('looks up orders that are asked for together, each answered with its own', async () => {
    const placed = await concurrentOrders(t.app, 5)
    // A fresh batcher: the first one remembers what it placed and would not ask the database.
    const batcher = orderBatcher(t.app.db, { batchMax: 64 })
    const numbers = [...placed.map((r) => ('order' in r ? r.order.orderNumber : '')), 'ZZZZZ-ZZZZZ']
    const found = await Promise.all(numbers.map((n) => batcher.find(n)))
    expect(found.map((o) => o?.orderNumber)).toEqual([...numbers.slice(0, 5), undefined])
    const first = placed[0]
    expect(found[0]).toEqual(first && 'order' in first ? first.order : 'no order')
  })

  it('reads back orders of several lines as placement answered them, lines in SKU order', async () => {
    for (const sku of ['MUG-001', 'NTB-009', 'CAP-003', 'TEE-002']) await setStock(sku, 1_000)
    const results = await placeOrderBatch(t.app.db, [
      request([
        { sku: 'TEE-002', quantity: 1 },
        { sku: 'MUG-001', quantity: 2 },
        { sku: 'NTB-009', quantity: 3 },
      ]),
      request([{ sku: 'CAP-003', quantity: 1 }]),
      request([
        { sku: 'NTB-009', quantity: 1 },
        { sku: 'CAP-003', quantity: 4 },
      ]),
    ])
    const orders = results.map((r) => (!(r instanceof Error) && 'order' in r ? r.order : undefined))
    const [a, b, c] = numbersOf(results) as [string, string, string]
    const batcher = orderBatcher(t.app.db, { batchMax: 64 })
    const found = await Promise.all([c, a, 'ZZZZZ-ZZZZZ', b, a].map((n) => batcher.find(n)))
    expect(found).toEqual([orders[2], orders[0], undefined, orders[1], orders[0]])
    expect(found[1]?.items.map((i) => i.sku)).toEqual(['MUG-001', 'NTB-009', 'TEE-002'])

    // Placement writes lines in SKU order; rows come back in no promised order, so the lookup
    // sorts. An order whose lines were stored the other way round shows that it does.
    const { rows } = await sql<{ id: string }>`
      insert into orders (order_number, idempotency_key, request_hash, customer_name, email,
        address, city, state, zip, total_cents)
      values ('REVRS-0RDER', ${randomUUID()}, 'x', 'R', 'r@example.com', '1 Way', 'Austin', 'TX',
        '78701', 0)
      returning id`.execute(t.app.db)
    for (const sku of ['TEE-002', 'NTB-009', 'MUG-001'])
      await sql`insert into order_lines (order_id, product_id, quantity, unit_price_cents)
        select ${rows[0]?.id}, id, 1, 0 from products where sku = ${sku}`.execute(t.app.db)
    const reversed = await orderBatcher(t.app.db, { batchMax: 64 }).find('REVRS-0RDER')
    expect(reversed?.items.map((i) => i.sku)).toEqual(['MUG-001', 'NTB-009', 'TEE-002'])
  })
})
