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
import { aggregateMismatches } from '../helpers/reliability.ts'

const script = fileURLToPath(new URL('../../scripts/seed-orders.ts', import.meta.url))

describe('npm run seed:orders', () => {
  it('refuses to run without a PostgreSQL DATABASE_URL, and says why', () => {
    const env = { ...process.env }
    delete env.DATABASE_URL
    const run = spawnSync(process.execPath, [script, '--count', '10'], { env, encoding: 'utf8' })
    expect(run.status).toBe(2)
    expect(run.stderr).toContain('needs DATABASE_URL set to a PostgreSQL database')
  })

  it.each(['--help', '-h'])('%s prints the usage on stdout and exits 0, nothing loaded', (flag) => {
    const env = { ...process.env }
    delete env.DATABASE_URL
    const run = spawnSync(process.execPath, [script, flag], { env, encoding: 'utf8' })
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(/^Usage: npm run seed:orders -- --count N/)
    expect(run.stdout).toContain('--jobs')
  })

  it('an unknown option: says so with the usage, exit 2 (bad usage, as the other commands)', () => {
    const env = { ...process.env }
    delete env.DATABASE_URL
    const run = spawnSync(process.execPath, [script, '--cuont', '10'], { env, encoding: 'utf8' })
    expect(run.status).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toMatch(/^Unknown option '--cuont'.*\nUsage: npm run seed:orders/s)
  })

  // Number() took all of these: -5 looped forever, abc loaded nothing and exited 0, 2.5 ended
  // in a database error, 1e3 loaded 1000; 0 printed the usage without a reason, and the last of
  // two --count won. Refused before DATABASE_URL is even looked at (there is none here).
  it.each([
    [['--count', '10', '--batch=-5'], '--batch is "-5": give a whole number of at least 1'],
    [['--count', '10', '--jobs', 'abc'], '--jobs is "abc": give a whole number of at least 1'],
    [['--count', '10', '--batch', '2.5'], '--batch is "2.5": give a whole number of at least 1'],
    [['--count', '1e3'], '--count is "1e3": give a whole number of at least 1'],
    [['--count', '0'], '--count is "0": give a whole number of at least 1'],
    [['--count', ''], '--count is "": give a whole number of at least 1'],
    [['--count', '10', '--jobs', '0x2'], '--jobs is "0x2": give a whole number of at least 1'],
    [['--count', '99999999999999999999'], '--count is "99999999999999999999", which is too large'],
    [['--count', '10', '--count', '20'], '--count is given more than once: give it once.'],
    [['--count', '10', '--batch', '5', '--batch=5'], '--batch is given more than once'],
    [['--batch', '5'], '--count is missing: say how many orders to load.'],
  ])('%j: says why with the usage, exit 2, nothing loaded', (args, reason) => {
    const env = { ...process.env }
    delete env.DATABASE_URL
    const run = spawnSync(process.execPath, [script, ...args], { env, encoding: 'utf8' })
    expect(run.status).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr.split('\n')[0]).toContain(reason)
    expect(run.stderr).toContain('\nUsage: npm run seed:orders')
  })

  it('seedOrders refuses a batch, job or order count below 1 before connecting', async () => {
    // Nothing listens on port 1: a connection attempt would fail with another error.
    const url = 'postgres://nobody@127.0.0.1:1/none'
    await expect(seedOrders(url, { count: 10, batchSize: -5 })).rejects.toThrow(
      'seedOrders: batchSize must be a whole number >= 1, got -5',
    )
    await expect(seedOrders(url, { count: 10, jobs: 0 })).rejects.toThrow(RangeError)
    await expect(seedOrders(url, { count: 2.5 })).rejects.toThrow(RangeError)
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
    // Equal to GROUP BYs over the lines of the orders not cancelled, as after real cancels.
    expect(await aggregateMismatches(db)).toEqual([])
    expect(Object.keys((await aggregates(db)).byProduct).length).toBeGreaterThan(100)

    // Again, on top: the loader adds to what is there, and still agrees exactly.
    await seedOrders(databaseUrl, { count: 3000, batchSize: 1000, jobs: 1 })
    expect(await aggregateMismatches(db)).toEqual([])
    const truth = await groupByOrderLines(db)

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

    // What the back office filters by has something to find: every status, by age as a shop
    // works (newest placed, oldest delivered), a year of days, e-mails that repeat.
    const statuses = await sql<{
      status: string
      n: number
      newest_days: number
      oldest_days: number
      untracked: number
      versions: string
    }>`
      select status, count(*)::int as n,
             extract(epoch from now() - max(created_at))::float / 86400 as newest_days,
             extract(epoch from now() - min(created_at))::float / 86400 as oldest_days,
             count(*) filter (where carrier is null or tracking_number is null)::int as untracked,
             string_agg(distinct version::text, ',') as versions
      from orders group by status
    `.execute(db)
    const by = Object.fromEntries(statuses.rows.map((r) => [r.status, r]))
    expect(Object.keys(by).sort()).toEqual([
      'cancelled',
      'delivered',
      'packed',
      'placed',
      'shipped',
    ])
    expect(by.delivered?.n).toBeGreaterThan(0.8 * 8000)
    expect(by.cancelled?.n).toBeGreaterThan(0.03 * 8000)
    expect(by.placed?.oldest_days).toBeLessThan(3)
    expect(by.shipped?.oldest_days).toBeLessThan(10)
    expect(by.delivered?.newest_days).toBeGreaterThan(3)
    expect(by.delivered?.oldest_days).toBeGreaterThan(300)
    expect(by.shipped?.untracked).toBe(0)
    expect(by.delivered?.untracked).toBe(0)
    expect(by.placed?.untracked).toBe(by.placed?.n)
    expect(Object.fromEntries(statuses.rows.map((r) => [r.status, r.versions]))).toEqual({
      placed: '1',
      packed: '2',
      shipped: '3',
      delivered: '4',
      cancelled: '2',
    })
    const emails = await sql<{ distinct_emails: number; days: number }>`
      select count(distinct email)::int as distinct_emails,
             count(distinct created_at::date)::int as days from orders
    `.execute(db)
    expect(emails.rows[0]?.distinct_emails).toBeLessThan(8000)
    expect(emails.rows[0]?.days).toBeGreaterThan(350)

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
