import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { fanOut } from '../../src/webhooks/fan-out.ts'
import { claimDue } from '../../src/webhooks/leases.ts'
import { buildTestApp, type TestApp, usingPostgres } from '../helpers/context.ts'
import { insertEndpoint, insertOrderEvents } from '../helpers/webhook-receiver.ts'

// A claim walks the due index and stops at its limit, whatever the backlog: with 10,000 due
// deliveries on a young table, the planner left to itself hashed the outbox for the anti join and
// read every due row before sorting (100-220 ms a claim of 8, so the backlog of a dispatcher
// behind the order rate only grew). Counted from PostgreSQL's statistics of the due index, on one
// connection (pool of 1) so the claim's counts are flushed before they are read.
// PostgreSQL only: PGlite keeps no such statistics.
const due = 10_000
let t: TestApp
beforeAll(async () => {
  if (usingPostgres) t = await buildTestApp({ DATABASE_POOL_SIZE: '1' })
})
afterAll(async () => {
  await t?.close()
})

const dueIndexReads = async () => {
  const db = t.app.db
  await sql`select pg_stat_force_next_flush()`.execute(db)
  // The connection goes idle between the statements, which flushes its counts.
  await new Promise((r) => setTimeout(r, 50))
  const { rows } = await sql<{ n: string }>`
    select idx_tup_read::text as n from pg_stat_user_indexes
    where indexrelname = 'webhook_deliveries_due'`.execute(db)
  return Number(rows[0]?.n)
}

it.skipIf(!usingPostgres)(
  `a claim of 8 with ${due} deliveries due reads a few entries of the due index, not all (PostgreSQL only)`,
  async () => {
    const db = t.app.db
    await insertEndpoint(db, 'http://127.0.0.1:9/hook', ['order.placed'])
    await insertOrderEvents(db, 1, due, ['order.placed'])
    while ((await fanOut(db, 1000)) > 0) {}
    const before = await dueIndexReads()
    const claimed = await claimDue(db, 8, 30_000)
    const read = (await dueIndexReads()) - before
    expect(claimed.map((d) => Number(d.eventId))).toEqual(
      [...claimed.map((d) => Number(d.eventId))].sort((a, b) => a - b),
    )
    expect(claimed).toHaveLength(8)
    expect(read).toBeGreaterThanOrEqual(8)
    expect(read).toBeLessThan(100)
  },
  60_000,
)
