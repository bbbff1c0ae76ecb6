import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Database } from '../../src/db/schema.ts'
import { foldSales } from '../../src/insights/sales-fold.ts'
import { seedCatalogue } from '../../src/products/seed.ts'
import { testDatabase, usingPostgres } from '../helpers/context.ts'
import {
  aggregates,
  groupByOrderLines,
  queuedSales,
  queueLength,
  waitFor,
} from '../helpers/insights.ts'

const child = fileURLToPath(new URL('../helpers/fold-until-killed.ts', import.meta.url))
const orders = 60_000

/** Orders, their lines and their queued sales, written the way placeOrder writes them. */
async function queueOrders(db: Kysely<Database>, from: number, count: number) {
  await sql`
    with o as (
      insert into orders (order_number, idempotency_key, request_hash, customer_name, email,
                          address, city, state, zip, total_cents)
      select 'K' || lpad(g::text, 10, '0'), 'kill:' || g, 'x', 'Kill Test', 'k@example.com',
             '1 Kill St', 'Anytown', (array['CA','TX','NY','FL','WA','VT','WY'])[1 + g % 7], '00000', 0
      from generate_series(${from}::int, ${from + count - 1}::int) g
      returning id, state
    ), l as (
      insert into order_lines (order_id, product_id, quantity, unit_price_cents)
      select o.id, p.id, 1 + (o.id + p.id) % 4, p.price_cents
      from o join products p on p.id = 1 + o.id % 14 or (o.id % 3 = 0 and p.id = 1 + (o.id + 5) % 14)
      returning order_id, product_id, quantity, unit_price_cents
    )
    insert into sales_queue (state, product_id, units, revenue_cents, orders)
    select o.state, l.product_id, l.quantity, l.quantity::bigint * l.unit_price_cents,
           (row_number() over (partition by o.id order by l.product_id) = 1)::int
    from l join o on o.id = l.order_id
  `.execute(db)
}

/** Units counted plus units still queued: equal to units ordered at every moment. */
async function unitsAccountedFor(db: Kysely<Database>) {
  const { rows } = await sql<{ counted: string; queued: string; ordered: string }>`
    select (select coalesce(sum(units), 0) from state_product_sales) as counted,
           (select coalesce(sum(units), 0) from ${queuedSales}) as queued,
           (select coalesce(sum(quantity), 0) from order_lines) as ordered
  `.execute(db)
  const r = rows[0] as { counted: string; queued: string; ordered: string }
  return { accounted: Number(r.counted) + Number(r.queued), ordered: Number(r.ordered) }
}

// Killing a process that holds a server connection needs a server: PostgreSQL only.
describe.skipIf(!usingPostgres)('a folder killed mid-fold (PostgreSQL only)', () => {
  let db: Kysely<Database>
  let databaseUrl: string
  let drop: () => Promise<void>
  beforeAll(async () => {
    const database = await testDatabase()
    databaseUrl = database.env.DATABASE_URL as string
    drop = database.drop
    db = connect({ databaseUrl, dataDir: 'unused', poolSize: 2 })
    await migrateToLatest(db)
    await seedCatalogue(db)
    await queueOrders(db, 1, orders)
  })
  afterAll(async () => {
    await db?.destroy()
    await drop?.()
  })

  it('leaves every sale counted exactly once after SIGKILL, twice over', async () => {
    const total = await queueLength(db)
    expect(total).toBeGreaterThan(orders)
    for (let round = 0; round < 2; round++) {
      const url = new URL(databaseUrl)
      url.searchParams.set('application_name', `fold-child-${round}`)
      const proc = spawn(process.execPath, [child], {
        env: { ...process.env, DATABASE_URL: url.toString(), FOLD_BATCH: '1500' },
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let committed = 0
      proc.stdout.on('data', (chunk: Buffer) => {
        committed += chunk
          .toString()
          .split('\n')
          .filter((l) => l.startsWith('folded')).length
      })
      // Let it commit a few batches, then wait (a random while) for it to be inside a fold's
      // transaction having written to the queue and the aggregates, and kill it there.
      await waitFor(async () => committed >= 3, 15_000, 5)
      await new Promise((r) => setTimeout(r, Math.random() * 50))
      await waitFor(
        async () => {
          const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from pg_stat_activity
          where application_name = ${`fold-child-${round}`} and backend_xid is not null
        `.execute(db)
          return (rows[0]?.n ?? 0) > 0
        },
        10_000,
        1,
      )
      proc.kill('SIGKILL')
      await new Promise((r) => proc.once('exit', r))
      // The server rolls the cut transaction back once it sees the connection gone.
      await waitFor(async () => {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from pg_stat_activity where application_name = ${`fold-child-${round}`}
        `.execute(db)
        return rows[0]?.n === 0
      })
      const left = await queueLength(db)
      expect(left).toBeGreaterThan(0)
      expect(left).toBeLessThan(total)
      const { accounted, ordered } = await unitsAccountedFor(db)
      expect(accounted).toBe(ordered)
    }

    while ((await foldSales(db)) > 0) {}
    expect(await queueLength(db)).toBe(0)
    expect(await aggregates(db)).toEqual(await groupByOrderLines(db))
  })
})
