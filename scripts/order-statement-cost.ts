/**
 * What placing an order costs PostgreSQL, without HTTP or the machine's load in the way: the CPU
 * time of ONE backend (/proc/<pid>/stat) while it runs a checkout's own group-commit statement
 * (placeOrderBatch) at a fixed batch size, then that checkout's webhook fan-out of the events the
 * orders wrote (fanOut, no endpoint, mail off; none before issue 16), as its dispatcher would.
 * With the batch size fixed, a dearer statement does not make smaller batches (which in the
 * service cost more per order again), so two checkouts compare on what they ask of the database.
 *
 *   node scripts/order-statement-cost.ts --a /tmp/before --b . [--batch 16] [--orders 8000] [--rounds 4]
 *   node scripts/order-statement-cost.ts --b-sql 'drop index orders_created'   # one piece's share
 *
 * Each side (`--a`, `--b`: checkouts, default this one) gets its own fresh database (`--db`
 * prefix, default order_stmtcost: <db>_a, <db>_b; BENCH_DATABASE_URL, default the local
 * server), migrated and seeded by its own code, and its own single connection; the sides take
 * turns (ABBA …) with the same orders (the form's mix: one line in 80%, two in 15%, three in
 * 5%). Prints, per side and round, the backend's CPU µs per order for placing, for the fan-out,
 * and both. /proc counts in 10 ms ticks: keep `--orders` × cost well above that.
 */
import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { type Kysely, sql } from 'kysely'
import pg from 'pg'
import type { Database } from '../src/db/schema.ts'
import type { OrderRequest } from '../src/orders/schemas.ts'
import { benchCustomer, formLineCount, pickSkus } from '../test/bench/flows.ts'

const { values: args } = parseArgs({
  options: {
    a: { type: 'string', default: '.' },
    b: { type: 'string', default: '.' },
    batch: { type: 'string', default: '16' },
    orders: { type: 'string', default: '8000' },
    rounds: { type: 'string', default: '4' },
    db: { type: 'string', default: 'order_stmtcost' },
    // SQL run on a side's database once seeded (drop an index, say), as bench:ab's.
    'a-sql': { type: 'string', multiple: true, default: [] },
    'b-sql': { type: 'string', multiple: true, default: [] },
  },
})
const batch = Number(args.batch)
const orders = Number(args.orders)
const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

interface Side {
  name: 'A' | 'B'
  dir: string
  db: Kysely<Database>
  pid: number
  place: (
    db: Kysely<Database>,
    requests: OrderRequest[],
    options: { emails: boolean },
  ) => Promise<unknown[]>
  fanOut?: (db: Kysely<Database>, batchSize: number) => Promise<number>
}

async function openSide(name: 'A' | 'B', dir: string): Promise<Side> {
  const from = (file: string) => import(path.join(dir, 'src', file))
  const database = `${args.db}_${name.toLowerCase()}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`drop database if exists ${database} with (force)`)
  await admin.query(`create database ${database}`)
  await admin.end()
  const databaseUrl = Object.assign(new URL(serverUrl), { pathname: `/${database}` }).toString()
  // One connection: every statement runs on the one backend whose CPU is read.
  const db: Kysely<Database> = (await from('db/connect.ts')).connect({
    databaseUrl,
    dataDir: '',
    poolSize: 1,
  })
  await (await from('db/migrate.ts')).migrateToLatest(db)
  await (await from('products/seed.ts')).seedCatalogue(db)
  await sql`update products set stock = 1000000000`.execute(db)
  for (const statement of name === 'A' ? args['a-sql'] : args['b-sql']) {
    await sql.raw(statement).execute(db)
  }
  const fanOutFile = path.join(dir, 'src/webhooks/fan-out.ts')
  return {
    name,
    dir,
    db,
    pid: 0,
    place: (await from('orders/place-order-batch.ts')).placeOrderBatch,
    fanOut: existsSync(fanOutFile) ? (await import(fanOutFile)).fanOut : undefined,
  }
}

/** The backend's user + system CPU so far, µs. */
function backendCpuUs(side: Side): number {
  const stat = readFileSync(`/proc/${side.pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6
}

function request(): OrderRequest {
  return {
    items: pickSkus(formLineCount()).map((sku) => ({ sku, quantity: 1 })),
    customer: benchCustomer(),
    idempotencyKey: `api:${randomUUID()}`,
  }
}

async function run(side: Side, requests: OrderRequest[]) {
  // The pool closes an idle connection (10 s) while the other side runs: read the pid anew.
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(side.db)
  side.pid = rows[0]?.pid as number
  const placeStart = backendCpuUs(side)
  for (let i = 0; i < requests.length; i += batch) {
    // Mail off, as the service without SMTP_URL (a checkout before issue 17 ignores it).
    const results = await side.place(side.db, requests.slice(i, i + batch), { emails: false })
    for (const r of results) {
      if (r instanceof Error || (r as { kind: string }).kind !== 'placed') throw r
    }
  }
  const placeUs = backendCpuUs(side) - placeStart
  const fanStart = backendCpuUs(side)
  // In passes of what the dispatcher finds at ~1,000 orders/s and one poll each 250 ms.
  if (side.fanOut) while ((await side.fanOut(side.db, 250)) > 0) {}
  const fanUs = backendCpuUs(side) - fanStart
  return {
    side: side.name,
    placeUsPerOrder: Math.round(placeUs / requests.length),
    fanOutUsPerOrder: Math.round(fanUs / requests.length),
    totalUsPerOrder: Math.round((placeUs + fanUs) / requests.length),
  }
}

const sides = [await openSide('A', path.resolve(args.a)), await openSide('B', path.resolve(args.b))]
const fresh = () => Array.from({ length: orders }, request)
console.log(
  JSON.stringify({
    date: new Date().toISOString(),
    a: sides[0]?.dir,
    b: sides[1]?.dir,
    batch,
    orders,
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(1))),
  }),
)
// Warm-up: plans, caches, the tables' first pages.
for (const side of sides) await run(side, fresh().slice(0, 1000))
for (let round = 0; round < Number(args.rounds); round++) {
  const requests = fresh()
  // The same orders on both sides (keys differ per database, so none is a replay).
  for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
    console.log(JSON.stringify({ round: round + 1, ...(await run(side, requests)) }))
  }
}
console.log(JSON.stringify({ loadAverage: os.loadavg().map((l) => Number(l.toFixed(1))) }))
for (const side of sides) await side.db.destroy()
