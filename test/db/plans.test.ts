import { type Kysely, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sessionOptions } from '../../src/db/connect.ts'
import type { Database } from '../../src/db/schema.ts'
import { foldSales, foldStatement, startSalesFold } from '../../src/insights/sales-fold.ts'
import { selectLinesByNumbers } from '../../src/orders/queries.ts'
import { buildTestApp, type TestApp, usingPostgres } from '../helpers/context.ts'
import { queueLength, waitFor } from '../helpers/insights.ts'

const queueSales = (db: Kysely<Database>, n: number) =>
  sql`insert into sales_queue (state, product_id, units, revenue_cents, orders)
      select 'TX', p.id, 1, p.price_cents, 1
      from generate_series(1, ${n}) g join products p on p.id = 1 + g % 14`.execute(db)

describe('the fold keeps its plan whatever the statistics say', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp()
  })
  afterAll(async () => t?.close())

  // The stall seen under wrk: ANALYZE while the queue was empty, a cached plan, a backlog.
  it('takes its batch, not the whole backlog, after an ANALYZE of an empty queue', async () => {
    const db = t.app.db
    await sql`delete from sales_queue`.execute(db)
    await sql`delete from sales_queue_batches`.execute(db)
    await sql`analyze`.execute(db)
    for (let i = 0; i < 8; i++) await foldSales(db, 5000) // past pg's five custom plans
    await queueSales(db, 13_405)
    expect(await foldSales(db, 5000)).toBe(5000)
    expect(await queueLength(db)).toBe(8405)
    expect(await foldSales(db, 5000)).toBe(5000)
  })

  // The queues are emptied from the head all day: between autovacuums their statistics count
  // thousands of rows that are dead. A DELETE joined to its batch then scanned the whole table.
  it('deletes its batch by primary key when the statistics count many more queued rows', async () => {
    const db = t.app.db
    await sql`delete from sales_queue_batches`.execute(db)
    await queueSales(db, 20_000)
    await sql`insert into sales_queue_batches (state, product_id, units, revenue_cents, orders)
              select array['TX'], array[1 + g % 14], array[1], array[1800::bigint], array[1]
              from generate_series(1, 20000) g`.execute(db)
    await sql`analyze sales_queue, sales_queue_batches`.execute(db)
    await sql`delete from sales_queue where id > 0`.execute(db)
    await sql`delete from sales_queue_batches where id > 0`.execute(db)
    await queueSales(db, 80)
    const { rows } = await sql<{
      'QUERY PLAN': unknown
    }>`explain (format json) ${foldStatement(5000)}`.execute(db)
    const plan = JSON.stringify(rows[0]?.['QUERY PLAN'])
    expect(plan).toContain('"Relation Name":"sales_queue_batches"')
    // Before: each DELETE hashed its whole queue (a Seq Scan or a full Index Scan) to join it.
    expect(plan).not.toContain('"Node Type":"Hash Join"')
    expect(plan.match(/"(Index|Recheck) Cond":"\(id = ANY /g)?.length).toBeGreaterThanOrEqual(2)
    expect(await foldSales(db, 5000)).toBe(80)
  })

  it('takes its batch on tables never analyzed', async () => {
    const fresh = await buildTestApp()
    try {
      const db = fresh.app.db
      for (let i = 0; i < 8; i++) await foldSales(db, 1000)
      await queueSales(db, 3000)
      expect(await foldSales(db, 1000)).toBe(1000)
      expect(await queueLength(db)).toBe(2000)
    } finally {
      await fresh.close()
    }
  })
})

// Needs a second session to hold the aggregates: an in-memory PGlite has one.
describe.skipIf(!usingPostgres)('a fold that times out (PostgreSQL)', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ DATABASE_STATEMENT_TIMEOUT_MS: '300' })
  })
  afterAll(async () => t?.close())

  it('takes a smaller batch next time, says it is behind, and catches up', async () => {
    const db = t.app.db
    await queueSales(db, 2000)
    const errors: unknown[] = []
    const behind: { ms: number; batchLimit: number }[] = []
    const fold = startSalesFold(db, {
      intervalMs: 20,
      onError: (err) => errors.push(err),
      onBehind: (b) => behind.push(b),
    })
    try {
      // Folds block on the aggregates and hit the 300 ms statement timeout, for over 5 s.
      await db.transaction().execute(async (trx) => {
        await sql`lock table state_product_sales in exclusive mode`.execute(trx)
        await waitFor(async () => behind.length > 0, 15_000, 100)
      })
      expect(errors.length).toBeGreaterThan(3)
      expect((errors[0] as { code?: string }).code).toBe('57014')
      expect(behind[0]?.batchLimit).toBe(50)
      expect(behind[0]?.ms).toBeGreaterThan(5000)
      await waitFor(async () => (await queueLength(db)) === 0, 15_000)
      await waitFor(async () => fold.stats.batchLimit === 5000, 5000)
      expect(fold.stats.folded).toBe(2000)
    } finally {
      await fold.stop()
    }
  }, 60_000)
})

// The service's sessions (sessionOptions) and a generic plan made while the tables were tiny
// or their statistics stale: the one a pooled connection caches after five runs of a
// prepared statement. The order lookup must still go by index, or it reads every order line.
describe.skipIf(!usingPostgres)('the order lookup keeps its plan (PostgreSQL)', () => {
  let t: TestApp
  let client: pg.Client
  beforeAll(async () => {
    t = await buildTestApp()
    client = new pg.Client({
      connectionString: t.config.DATABASE_URL,
      options: sessionOptions('-c plan_cache_mode=force_generic_plan'),
    })
    await client.connect()
  })
  afterAll(async () => {
    await client?.end()
    await t?.close()
  })

  const lookupPlan = async () => {
    const { sql: text } = selectLinesByNumbers.compiled(t.app.db)
    await client.query('deallocate all')
    await client.query(`prepare lookup(text[]) as ${text}`)
    const { rows } = await client.query(`explain execute lookup('{A,B}')`)
    return rows.map((r) => r['QUERY PLAN'] as string).join('\n')
  }

  it('on tables never analyzed', async () => {
    const plan = await lookupPlan()
    expect(plan).not.toMatch(/Seq Scan on (orders|order_lines)/)
  })

  it('after an ANALYZE of empty tables', async () => {
    await sql`analyze`.execute(t.app.db)
    const plan = await lookupPlan()
    expect(plan).not.toMatch(/Seq Scan on (orders|order_lines)/)
  })

  // The lookup also asks whether an e-mail of the order was given up (the confirmation page
  // then promises none): by the partial index, not a read of every order e-mail (migration 0020).
  it("asks for an order's failed e-mail by index", async () => {
    const plan = await lookupPlan()
    expect(plan).toContain('order_emails_order_failed')
    expect(plan).not.toMatch(/Seq Scan on order_emails/)
  })
})
