import { randomUUID } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../src/app.ts'
import { connect } from '../../src/db/connect.ts'
import type { Database } from '../../src/db/schema.ts'
import { changeOrderStatus } from '../../src/lifecycle/change-order-status.ts'
import { placeOrder as placeOrderDirect } from '../../src/orders/place-order.ts'
import { placeOrderBatch } from '../../src/orders/place-order-batch.ts'
import { appsOnOneDatabase, customer, usingPostgres } from '../helpers/context.ts'
import { lifecycleApi, placeOrder } from '../helpers/lifecycle.ts'
import { brokenInvariants } from '../helpers/reliability.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

/**
 * Two instances of the service on one PostgreSQL database (an in-memory PGlite has one
 * connection, so nothing runs concurrently there): cancels of one order racing each other, and
 * cancels racing new orders of the same products.
 */
describe.skipIf(!usingPostgres)('the order lifecycle under concurrency (PostgreSQL)', () => {
  let apps: App[]
  let databaseUrl: string
  let close: () => Promise<void>
  let staff: ReturnType<typeof lifecycleApi>[]

  beforeAll(async () => {
    ;({ apps, databaseUrl, close } = await appsOnOneDatabase(2, { RATE_LIMIT_MAX: '0' }))
    const [one, two] = apps as [App, App]
    staff = [
      lifecycleApi(one, await addToken(one, await addStaff(one, 'ann@example.com'))),
      lifecycleApi(two, await addToken(two, await addStaff(two, 'bob@example.com'))),
    ]
  })
  afterAll(() => close?.())

  const db = () => (apps[0] as App).db
  const stockOf = async (sku: string) =>
    (
      await db()
        .selectFrom('products')
        .select('stock')
        .where('sku', '=', sku)
        .executeTakeFirstOrThrow()
    ).stock

  it('two staff cancelling one order at once on two instances: one 200, one 409, stock back once', async () => {
    const items = [
      { sku: 'MUG-001', quantity: 2 },
      { sku: 'TEE-002', quantity: 1 },
      { sku: 'CAP-003', quantity: 3 },
    ]
    const before = await Promise.all(items.map((i) => stockOf(i.sku)))
    const orders: string[] = []
    for (let i = 0; i < 20; i++) orders.push(await placeOrder(apps[i % 2] as App, items))

    // Every order cancelled by both at the same moment, each with the ETag they read.
    const answers = await Promise.all(
      orders.map((n) => Promise.all(staff.map((s) => s.transition(n, { to: 'cancelled' }, '"1"')))),
    )
    for (const [i, pair] of answers.entries()) {
      expect(pair.map((r) => r.statusCode).sort(), orders[i]).toEqual([200, 409])
      const refused = pair.find((r) => r.statusCode === 409)
      expect(refused?.json().message).toBe(`Order ${orders[i]} is already cancelled.`)
    }
    expect(await Promise.all(items.map((i) => stockOf(i.sku)))).toEqual(before)

    const { rows } = await sql<{ n: string }>`
      select count(*) as n from order_events e join orders o on o.id = e.order_id
      where o.order_number = any(${orders}::text[]) and e.to_status = 'cancelled'`.execute(db())
    expect(Number(rows[0]?.n)).toBe(orders.length)
    // Folded by both instances' folders and by hand: the aggregates equal GROUP BYs over the
    // lines of orders not cancelled, and every unit of stock is accounted for.
    expect(await brokenInvariants(db())).toEqual([])
  })

  it('cancels racing new orders of the same products: no oversell, no failed order, no deadlock but a rare retried one', async () => {
    // Sessions of their own (application_name marks them), so that once they end the deadlocks
    // they met are in pg_stat_database (a session reports its statistics when it ends).
    const url = new URL(databaseUrl)
    url.searchParams.set('application_name', 'lifecycle-race')
    const pools: Kysely<Database>[] = [0, 1].map(() =>
      connect({ databaseUrl: url.toString(), dataDir: 'unused', poolSize: 6 }),
    )
    const pool = (i: number) => pools[i % 2] as Kysely<Database>
    const deadlocksBefore = await deadlocks(databaseUrl)
    // Lines in both id orders, so a cancel locking products in any other order than placing
    // does would meet an order head-on.
    const skus = ['MUG-001', 'TEE-002', 'CAP-003', 'BTL-005', 'NTB-009']
    const lines = (i: number) =>
      (i % 2 ? skus : [...skus].reverse())
        .slice(i % 3)
        .map((sku) => ({ sku, quantity: 1 + (i % 2) }))
    const scarce = [{ sku: 'LMP-006', quantity: 2 }]
    const request = (items: { sku: string; quantity: number }[]) => ({
      items,
      customer: { ...customer, state: 'CA' },
      idempotencyKey: randomUUID(),
    })
    const cancel = (orderNumber: string, i: number) =>
      changeOrderStatus(pool(i + 1), {
        orderNumber,
        to: 'cancelled',
        expectedVersions: [1],
        staffId: null,
      })

    try {
      for (let round = 0; round < 5; round++) {
        // One product sold out by the orders about to be cancelled: its stock comes back while
        // new orders want it (stock that grows under an order's snapshot, which once made the
        // order statement fail its stock >= 0 check on an order the stock covered).
        await sql`update products set stock = 6 where sku = 'LMP-006'`.execute(db())
        const old: string[] = []
        for (let i = 0; i < 10; i++) old.push(await placeOrder(apps[i % 2] as App, lines(i)))
        for (let i = 0; i < 3; i++) old.push(await placeOrder(apps[i % 2] as App, scarce))
        expect(await stockOf('LMP-006')).toBe(0)

        // Orders one at a time (placeOrder) and in batches (the batcher's placeOrderBatch).
        const singles = Array.from({ length: 12 }, (_, i) =>
          placeOrderDirect(pool(i), request(i % 2 ? lines(i + 1) : scarce)),
        )
        const batches = Array.from({ length: 4 }, (_, i) =>
          placeOrderBatch(pool(i), [request(scarce), request(lines(i)), request(scarce)]),
        )
        const [cancelled, single, batched] = await Promise.all([
          Promise.all(old.map(cancel)),
          Promise.all(singles),
          Promise.all(batches),
        ])

        expect(cancelled.map((r) => r.kind)).toEqual(old.map(() => 'changed'))
        const results = [
          ...single.map((r, i) => ({ r, scarce: i % 2 === 0 })),
          ...batched.flatMap((b) => b.map((r, j) => ({ r, scarce: j !== 1 }))),
        ]
        for (const { r } of results) {
          expect(r instanceof Error ? r.message : r.kind).toMatch(/^(placed|out-of-stock)$/)
        }
        const scarceOrders = results.filter(
          ({ r, scarce }) => scarce && !(r instanceof Error) && r.kind === 'placed',
        ).length
        // 6 units came back; each new order of the scarce product took 2 of them, never more.
        expect(scarceOrders, `round ${round}`).toBeLessThanOrEqual(3)
        expect(await stockOf('LMP-006')).toBe(6 - 2 * scarceOrders)
      }
    } finally {
      await Promise.all(pools.map((p) => p.destroy()))
    }

    // Cancels and placements lock products in one order, so a regression that took them in
    // opposite orders would deadlock in most rounds and fail statements past their retries.
    // PostgreSQL still reports a rare deadlock here with the CPU saturated (1-5 in a run, via
    // its tuple-lock queue on one row: docs/reliability.md), which the statement's retry
    // absorbs (every statement above ended as it should): a few are allowed, no more.
    const statements = 5 * (13 + 12 + 4)
    const met = (await deadlocks(databaseUrl, 'lifecycle-race')) - deadlocksBefore
    expect(met).toBeLessThanOrEqual(statements / 20)
    // LMP-006's stock was set by hand above: its start is not the catalogue's.
    const broken = await brokenInvariants(db())
    expect(broken.filter((b) => !b.startsWith('LMP-006:'))).toEqual([])
  })
})

/**
 * Deadlocks PostgreSQL detected in the database of `url` so far, read once no session named
 * `waitFor` is left (a session's statistics are reported when it ends, at the latest).
 */
async function deadlocks(url: string, waitFor?: string): Promise<number> {
  const name = new URL(url).pathname.slice(1)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    for (let i = 0; waitFor && i < 100; i++) {
      const { rows } = await client.query(
        'select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = $2',
        [name, waitFor],
      )
      if (rows[0].n === 0) break
      await new Promise((r) => setTimeout(r, 50))
    }
    await client.query('select pg_stat_clear_snapshot()')
    const { rows } = await client.query(
      'select deadlocks::int as n from pg_stat_database where datname = $1',
      [name],
    )
    return rows[0].n
  } finally {
    await client.end()
  }
}
