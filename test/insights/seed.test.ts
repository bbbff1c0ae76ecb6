import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedOrders } from '../../scripts/seed-orders.ts'
import { connect } from '../../src/db/connect.ts'
import type { Database } from '../../src/db/schema.ts'
import { orderNumberPattern } from '../../src/orders/order-number.ts'
import { testDatabase, usingPostgres } from '../helpers/context.ts'
import { aggregates, groupByOrderLines } from '../helpers/insights.ts'

const script = fileURLToPath(new URL('../../scripts/seed-orders.ts', import.meta.url))

describe('npm run seed:orders', () => {
  it('refuses to run without a PostgreSQL DATABASE_URL, and says why', () => {
    const env = { ...process.env }
    delete env.DATABASE_URL
    const run = spawnSync(process.execPath, [script, '--count', '10'], { env, encoding: 'utf8' })
    expect(run.status).toBe(2)
    expect(run.stderr).toContain('needs DATABASE_URL set to a PostgreSQL database')
  })
})

// COPY is a PostgreSQL server feature: the loader itself is tested there only.
describe.skipIf(!usingPostgres)('the bulk loader (PostgreSQL only)', () => {
  let db: Kysely<Database>
  let databaseUrl: string
  let drop: () => Promise<void>
  beforeAll(async () => {
    const database = await testDatabase()
    databaseUrl = database.env.DATABASE_URL as string
    drop = database.drop
    db = connect({ databaseUrl, dataDir: 'unused', poolSize: 2 })
  })
  afterAll(async () => {
    await db?.destroy()
    await drop?.()
  })

  it('loads skewed orders and keeps the aggregates equal to a GROUP BY, run after run', async () => {
    const first = await seedOrders(databaseUrl, { count: 5000, batchSize: 1200 })
    expect(first.orders).toBe(5000)
    expect(first.lines).toBeGreaterThan(5000)
    expect(await aggregates(db)).toEqual(await groupByOrderLines(db))

    // Again, on top: the loader adds to what is there, and still agrees exactly.
    await seedOrders(databaseUrl, { count: 3000, batchSize: 1000, jobs: 1 })
    const truth = await groupByOrderLines(db)
    expect(await aggregates(db)).toEqual(truth)

    const { rows } = await sql<{ n: number; numbers: number; keys: number; lines: number }>`
      select count(*)::int as n, count(distinct order_number)::int as numbers,
             count(distinct idempotency_key)::int as keys,
             (select count(*)::int from order_lines) as lines
      from orders
    `.execute(db)
    expect(rows[0]).toMatchObject({ n: 8000, numbers: 8000, keys: 8000 })
    const sample = await db
      .selectFrom('orders')
      .select(['order_number', 'idempotency_key', 'total_cents'])
      .limit(50)
      .execute()
    for (const o of sample) {
      expect(o.order_number).toMatch(new RegExp(orderNumberPattern))
      expect(o.idempotency_key).toMatch(/^seed:[0-9a-f-]{36}:\d+$/)
      expect(Number(o.total_cents)).toBeGreaterThan(0)
    }

    // Skewed like real sales: big states and a few products dominate.
    const states = truth.byState
    expect(states.CA?.orders ?? 0).toBeGreaterThan(10 * (states.WY?.orders ?? 0))
    const byProduct = new Map<string, number>()
    for (const [key, s] of Object.entries(truth.byProduct)) {
      const product = key.split(':')[1] as string
      byProduct.set(product, (byProduct.get(product) ?? 0) + s.units)
    }
    const units = [...byProduct.values()].sort((a, b) => b - a)
    const total = units.reduce((a, b) => a + b, 0)
    expect(units.length).toBe(14)
    expect(((units[0] ?? 0) + (units[1] ?? 0) + (units[2] ?? 0)) / total).toBeGreaterThan(0.4)
    // Regional taste: not every state has the same best seller.
    const best = await sql<{ product_id: number }>`
      select distinct on (state) product_id from state_product_sales order by state, units desc
    `.execute(db)
    expect(new Set(best.rows.map((r) => r.product_id)).size).toBeGreaterThan(1)
  })
})
