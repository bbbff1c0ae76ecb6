import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../src/app.ts'
import { SALES_FOLD_LOCK } from '../../src/insights/sales-fold.ts'
import { stateCodes } from '../../src/us-states.ts'
import { appsOnOneDatabase, customerIn, usingPostgres } from '../helpers/context.ts'
import { aggregates, groupByOrderLines, queueLength, waitFor } from '../helpers/insights.ts'

const skus = ['MUG-001', 'TEE-002', 'CAP-003', 'BTL-005', 'NTB-009', 'SCK-010', 'CHR-014']

function order(app: App, i: number) {
  // Every fifth order has two lines, so order counts and unit counts differ.
  const items = [{ sku: skus[i % skus.length] as string, quantity: 1 + (i % 3) }]
  if (i % 5 === 0) items.push({ sku: 'LMP-006', quantity: 2 })
  return app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: { 'idempotency-key': randomUUID() },
    payload: { items, customer: customerIn(stateCodes[(i * 7) % 12] as string) },
  })
}

// An in-memory PGlite cannot be shared by two instances: this is a PostgreSQL-only test.
describe.skipIf(!usingPostgres)('two instances on one database (PostgreSQL only)', () => {
  let apps: App[]
  let databaseUrl: string
  let close: () => Promise<void>
  beforeAll(async () => {
    // A short fold interval makes the two folders race for the lock all the time; the order
    // rate limit and the overload guard would only get in the way of the burst.
    ;({ apps, databaseUrl, close } = await appsOnOneDatabase(2, {
      FOLD_INTERVAL_MS: '10',
      RATE_LIMIT_MAX: '0',
      MAX_EVENT_LOOP_DELAY_MS: '0',
    }))
  })
  afterAll(() => close?.())

  it('fold every sale of concurrent orders exactly once, both folders taking turns', async () => {
    const [a, b] = apps as [App, App]
    // Waves of concurrent orders at both instances while both folders run.
    let placed = 0
    for (let wave = 0; wave < 8; wave++) {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => order(i % 2 ? a : b, wave * 50 + i)),
      )
      for (const r of results) expect(r.statusCode).toBe(201)
      placed += results.length
      await new Promise((r) => setTimeout(r, 30))
    }
    await waitFor(async () => (await queueLength(a.db)) === 0)

    const truth = await groupByOrderLines(a.db)
    expect(await aggregates(a.db)).toEqual(truth)
    const orders = Object.values(truth.byState).reduce((n, s) => n + s.orders, 0)
    expect(orders).toBe(placed)
    // Each queued sale (one per order line) was folded by exactly one of the two.
    const lines = placed + placed / 5
    expect(a.salesFoldStats.folded + b.salesFoldStats.folded).toBe(lines)
    expect(a.salesFoldStats.folded).toBeGreaterThan(0)
    expect(b.salesFoldStats.folded).toBeGreaterThan(0)
  })

  it('lets no folder in while another holds the lock', async () => {
    const [a, b] = apps as [App, App]
    const holder = new pg.Client({ connectionString: databaseUrl })
    await holder.connect()
    try {
      // A third "instance" in the middle of a fold: it holds the folder lock.
      await holder.query('begin')
      await holder.query('select pg_advisory_xact_lock($1)', [SALES_FOLD_LOCK])
      const before = a.salesFoldStats.folded + b.salesFoldStats.folded
      for (let i = 0; i < 10; i++) expect((await order(i % 2 ? a : b, i)).statusCode).toBe(201)
      await new Promise((r) => setTimeout(r, 300)) // some thirty ticks of each folder
      expect(await queueLength(a.db)).toBe(12) // ten orders, two of them with two lines
      expect(a.salesFoldStats.folded + b.salesFoldStats.folded).toBe(before)

      await holder.query('commit')
      await waitFor(async () => (await queueLength(a.db)) === 0)
      expect(a.salesFoldStats.folded + b.salesFoldStats.folded).toBe(before + 12)
      expect(await aggregates(a.db)).toEqual(await groupByOrderLines(a.db))
    } finally {
      await holder.end()
    }
  })
})
