import { randomUUID } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/schema.ts'
import { foldSales } from '../../src/insights/sales-fold.ts'
import { placeOrder } from '../../src/orders/place-order.ts'
import { placeOrderBatch } from '../../src/orders/place-order-batch.ts'
import { catalogue } from '../../src/products/catalogue.ts'
import { stateCodes } from '../../src/us-states.ts'
import {
  buildTestApp,
  customer,
  type TestApp,
  testDatabase,
  usingPostgres,
} from '../helpers/context.ts'
import { brokenInvariants, orderCustomer } from '../helpers/reliability.ts'
import { type ServerProcess, startServer } from '../helpers/server.ts'

// Lock cycles need two sessions at once: an in-memory PGlite has one.
describe.skipIf(!usingPostgres)(
  'orders and folds share products without a lock cycle (PostgreSQL)',
  () => {
    let t: TestApp
    beforeAll(async () => {
      t = await buildTestApp({ DATABASE_POOL_SIZE: '4' })
    })
    afterAll(async () => t?.close())

    const idOf = async (db: Kysely<Database>, sku: string) =>
      (
        await db
          .selectFrom('products')
          .select('id')
          .where('sku', '=', sku)
          .executeTakeFirstOrThrow()
      ).id
    const queueSale = (db: Kysely<Database>, productId: number) =>
      sql`insert into sales_queue (state, product_id, units, revenue_cents, orders)
        values ('TX', ${productId}, 1, 100, 1)`.execute(db)

    // The cycle seen under load: a fold's foreign-key checks hold KEY SHARE on one product and
    // want another, while an order holds the other and wants the first. Here a fold that has folded
    // a sale of the later product stays open, an order of both products starts, and the fold then
    // folds a sale of the earlier one. With FOR UPDATE the order waits on the fold and the fold on
    // the order: PostgreSQL kills one after deadlock_timeout (1 s). FOR NO KEY UPDATE waits on neither.
    for (const [name, place] of [
      [
        'one order',
        (db: Kysely<Database>, items: { sku: string; quantity: number }[]) =>
          placeOrder(db, { items, customer, idempotencyKey: randomUUID() }),
      ],
      [
        'a batch',
        async (db: Kysely<Database>, items: { sku: string; quantity: number }[]) =>
          (
            await placeOrderBatch(db, [
              { items, customer, idempotencyKey: randomUUID() },
              { items, customer, idempotencyKey: randomUUID() },
            ])
          )[0],
      ],
    ] as const) {
      it(`${name} never waits on a fold's foreign-key locks, nor the fold on it`, async () => {
        const db = t.app.db
        const [first, second] = [await idOf(db, 'MUG-001'), await idOf(db, 'CAP-003')]
        await sql`delete from sales_queue`.execute(db)
        await sql`delete from sales_queue_batches`.execute(db)
        await queueSale(db, second)
        await queueSale(db, first)
        let settled = false
        let order: Promise<unknown> | undefined
        await db.transaction().execute(async (fold) => {
          expect(await foldSales(fold, 1)).toBe(1) // the later product's sale: KEY SHARE on it
          order = place(db, [
            { sku: 'MUG-001', quantity: 1 },
            { sku: 'CAP-003', quantity: 1 },
          ]).finally(() => {
            settled = true
          })
          await waitUntil(() => settled, 5000)
          expect(settled).toBe(true) // it did not wait for the fold to commit
          // The earlier product's sale, and the order's own sales, queued in one row that has
          // committed meanwhile: 2 lines for the order, 4 for the batch of two.
          expect(await foldSales(fold, 1)).toBe(name === 'one order' ? 3 : 5)
        })
        expect(await order).toMatchObject({ kind: 'placed' })
      })
    }
  },
)

// Whatever cycle remains (another writer taking locks in its own order) costs a retry, not an
// order: the session that detects the deadlock is the order's (1 s, against the other's 10 s).
describe.skipIf(!usingPostgres)('an order chosen as a deadlock victim (PostgreSQL)', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ DATABASE_POOL_SIZE: '4' })
  })
  afterAll(async () => t?.close())

  it('is run again and placed', async () => {
    const db = t.app.db
    let order: Promise<unknown> | undefined
    await db.transaction().execute(async (other) => {
      await sql`set local deadlock_timeout = '10s'`.execute(other)
      await sql`select 1 from products where sku = 'CAP-003' for update`.execute(other)
      order = placeOrder(db, {
        items: [
          { sku: 'MUG-001', quantity: 1 },
          { sku: 'CAP-003', quantity: 1 },
        ],
        customer,
        idempotencyKey: randomUUID(),
      })
      await new Promise((r) => setTimeout(r, 300)) // the order holds MUG-001, waits for CAP-003
      await sql`select 1 from products where sku = 'MUG-001' for update`.execute(other)
    })
    expect(await order).toMatchObject({ kind: 'placed' })
  })
})

// Every state and every product, two to four lines: a fold's first sale of a (state, product)
// inserts its aggregate row, whose foreign-key check locks the product (KEY SHARE), and a fresh
// database has 700 such pairs to make.
const spreadOrder = (i: number) => ({
  items: catalogue
    .filter((_, p) => (p * 5 + i) % catalogue.length < 2 + (i % 3))
    .map((p) => ({ sku: p.sku, quantity: 1 })),
  customer: orderCustomer(i, stateCodes[(i * 13) % stateCodes.length] as string),
})

async function waitUntil(done: () => boolean, timeoutMs: number) {
  for (const until = Date.now() + timeoutMs; !done() && Date.now() < until; )
    await new Promise((r) => setTimeout(r, 20))
}

// Two processes of the real service on one database, folding every 10 ms, taking orders for the
// same few products with every key sent twice at once (replays of keys still in flight): not
// one order may fail. Defence in depth for whatever cycle remains: 40P01/40001 are retried.
describe.skipIf(!usingPostgres)('two service processes under orders and folds (PostgreSQL)', () => {
  const servers: ServerProcess[] = []
  let drop: () => Promise<void> = async () => {}
  let databaseUrl = ''
  beforeAll(async () => {
    const database = await testDatabase()
    drop = database.drop
    databaseUrl = database.env.DATABASE_URL as string
    const env = { ...database.env, FOLD_INTERVAL_MS: '10', RATE_LIMIT_MAX: '0', LOG_LEVEL: 'error' }
    servers.push(await startServer(env))
    servers.push(await startServer(env))
  }, 120_000)
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill('SIGTERM')))
    await drop()
  })

  it('answers every order 201 or 200 (its replay), none 5xx', async () => {
    const failures: string[] = []
    const post = async (url: string, key: string, i: number) => {
      const res = await fetch(`${url}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(spreadOrder(i)),
      })
      if (res.status !== 201 && res.status !== 200)
        failures.push(`${res.status} ${await res.text()}`)
    }
    const [a, b] = servers.map((s) => s.url) as [string, string]
    for (let wave = 0; wave < 40; wave++) {
      await Promise.all(
        Array.from({ length: 25 }, (_, j) => {
          const key = randomUUID()
          const i = wave * 25 + j
          return Promise.all([post(a, key, i), post(b, key, i)])
        }),
      )
    }
    expect(failures).toEqual([])
    const output = servers.map((s) => s.output()).join('')
    expect(output).not.toMatch(/deadlock detected/)
    const { connect } = await import('../../src/db/connect.ts')
    const db = connect({ databaseUrl, dataDir: '' })
    try {
      expect(await brokenInvariants(db)).toEqual([])
    } finally {
      await db.destroy()
    }
  }, 120_000)
})
