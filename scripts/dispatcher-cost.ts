/**
 * `npm run cost:webhooks`: what one webhook delivery costs the dispatcher, in CPU and database
 * round trips, independent of the machine's load (CPU time from /proc, not wall time).
 *
 * On a fresh PostgreSQL database (`--database`, default `order_whcost`, dropped and made afresh) with one endpoint for
 * `order.placed` pointing at a receiver in a child process (its CPU is not counted), this process
 * runs the dispatcher (startDispatcher, as the service does) while it writes `order.placed`
 * outbox events (a realistic ~400-byte order payload each) at `--rate` events/s for
 * `--seconds` s through a connection of its own; then it waits until every event is delivered.
 * It reports, per delivery:
 *
 * - `nodeCpuUs`: this process's user+system CPU (process.cpuUsage) less the event writer's,
 *   measured alone beforehand for the same number of events (the writer is not the dispatcher);
 * - `pgCpuUs`: the CPU of the dispatcher's PostgreSQL backends (/proc/<pid>/stat of the pids in
 *   pg_stat_activity on the dispatcher's connections), not the writer's, not WAL writer's;
 * - `roundTrips`: queries the dispatcher's pg clients sent (each one round trip);
 * - `commits`: transactions the dispatcher committed (a statement outside BEGIN … COMMIT is one).
 *
 *   npm run cost:webhooks -- [--rate 500] [--seconds 10] [--out file.json]
 *                            [--database order_whcost] [--port 0]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof scripts/dispatcher-cost.ts   # where the time goes
 *
 * Needs a PostgreSQL server (BENCH_DATABASE_URL, default the local one).
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { connect, poolOf } from '../src/db/connect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import { startDispatcher } from '../src/webhooks/dispatcher.ts'
import { checkWebhookUrl } from '../src/webhooks/url-policy.ts'

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    out: { type: 'string' },
    // The database made afresh for the run, and the receiver's port (0: any free one).
    database: { type: 'string', default: 'order_whcost' },
    port: { type: 'string', default: '0' },
  },
})
const rate = Number(args.rate)
const seconds = Number(args.seconds)
const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const database = args.database
if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`--database ${database}: a plain name`)
const databaseUrl = Object.assign(new URL(serverUrl), { pathname: `/${database}` }).toString()

/** The receiver, in a child process: answers 200 "ok" to every request and counts them. */
function startReceiver(): Promise<{ url: string; count: () => Promise<number>; stop: () => void }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const http = require('node:http'); let n = 0
       const s = http.createServer((req, res) => { req.resume(); req.on('end', () => { n++; res.end('ok') }) })
       s.keepAliveTimeout = 60000
       s.listen(${Number(args.port)}, '127.0.0.1', () => console.log('PORT ' + s.address().port))
       process.on('message', () => process.send(n))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  )
  return new Promise((resolve) => {
    child.stdout?.on('data', (c: Buffer) => {
      const port = /PORT (\d+)/.exec(c.toString())?.[1]
      if (!port) return
      resolve({
        url: `http://127.0.0.1:${port}/hook`,
        count: () =>
          new Promise((r) => {
            child.once('message', (n) => r(Number(n)))
            child.send('count')
          }),
        stop: () => child.kill(),
      })
    })
  })
}

const ticks = 100 // USER_HZ: /proc/<pid>/stat counts CPU in 1/100 s
/** user + system CPU of `pids`, in microseconds. */
function cpuOf(pids: number[]): number {
  let total = 0
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
      total += Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14, 15)
    } catch {}
  }
  return (total / ticks) * 1e6
}

/** This process's CPU by thread name (main thread: the process's own name), in microseconds. */
function threadsCpu(): Record<string, number> {
  const out: Record<string, number> = {}
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      out[name] = (out[name] ?? 0) + taskCpu(stat)
    } catch {}
  }
  return out
}
const taskCpu = (stat: string) => {
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) / ticks) * 1e6
}

/** One order.placed payload, shaped as the order statements write it. */
const payloadSql = `jsonb_build_object(
  'items', jsonb_build_array(jsonb_build_object('sku', 'KNF-008', 'name', 'Folding Knife',
           'quantity', 1, 'unitPriceCents', 6900)),
  'status', 'placed', 'carrier', null,
  'customer', jsonb_build_object('zip', '78701', 'city', 'Austin', 'name', 'Ada Lovelace',
              'email', 'ada@example.com', 'state', 'TX', 'address', '12 Analytical Way'),
  'createdAt', now(), 'totalCents', 6900, 'orderNumber', 'N' || g, 'trackingNumber', null)`

/** Writes `rate` events a second for `seconds` s, in 20 slices a second; order ids from `first`. */
async function writeEvents(writer: pg.Client, first: number) {
  const slice = Math.max(1, Math.round(rate / 20))
  const started = performance.now()
  let next = first
  for (let i = 0; i < seconds * 20; i++) {
    await writer.query(
      `insert into outbox (event_type, order_id, payload)
       select 'order.placed', g, ${payloadSql} from generate_series($1::int, $2::int) g`,
      [next, next + slice - 1],
    )
    next += slice
    const wait = started + (i + 1) * 50 - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  }
  return next - first
}

/**
 * Counts the dispatcher's round trips (every query its pool's clients send) and commits, while
 * `counting`. Patched before any connection is made: the service's pool binds each new
 * client's query (prepareStatements) when it connects.
 */
let counting = false
let roundTrips = 0
let commits = 0
let writerClient: pg.Client | undefined
const inTransaction = new WeakSet<pg.Client>()
const query = pg.Client.prototype.query
pg.Client.prototype.query = function (this: pg.Client, ...a: unknown[]) {
  if (counting && this !== writerClient) {
    roundTrips++
    const first = a[0] as string | { text?: string }
    const text = (typeof first === 'string' ? first : (first?.text ?? '')).trim().toLowerCase()
    if (text.startsWith('begin')) inTransaction.add(this)
    else if (text.startsWith('commit') || text.startsWith('rollback')) {
      inTransaction.delete(this)
      commits++
    } else if (!inTransaction.has(this)) commits++
  }
  return (query as (...x: unknown[]) => unknown).apply(this, a)
} as typeof query

async function main() {
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`drop database if exists ${database} with (force)`)
  await admin.query(`create database ${database}`)
  await admin.end()

  const db = connect({ databaseUrl, dataDir: 'memory://', poolSize: 10 })
  await migrateToLatest(db)
  const receiver = await startReceiver()
  const writer = new pg.Client({ connectionString: databaseUrl })
  writerClient = writer
  await writer.connect()
  await writer.query(
    'insert into webhook_endpoints (url, event_types, secret) values ($1, $2, $3)',
    [receiver.url, ['order.placed'], `whsec_${Buffer.alloc(32, 7).toString('base64')}`],
  )
  const pool = poolOf(db) as pg.Pool

  // The writer alone first (no dispatcher): its CPU, taken off the total below. Its events are
  // marked fanned out, so the measured run starts with nothing owed.
  const w0 = process.cpuUsage()
  const written0 = await writeEvents(writer, 1)
  const writerCpu = process.cpuUsage(w0)
  await writer.query(`update outbox set fanned_out_at = now() where fanned_out_at is null`)

  const dispatcher = startDispatcher(db, {
    pollMs: 250,
    check: (url, options) => checkWebhookUrl(url, options),
    allowLocal: true,
    onError: (err) => console.error('dispatch failed', err),
  })
  // Let it open its connections, then note their backends.
  await new Promise((r) => setTimeout(r, 1000))
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      const c = await pool.connect()
      await new Promise((r) => setTimeout(r, 50))
      c.release()
    }),
  )
  const { rows: backends } = await writer.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
  )
  const pids = backends.map((b) => b.pid)
  const receivedBefore = await receiver.count()
  roundTrips = 0
  commits = 0
  counting = true
  const n0 = process.cpuUsage()
  const t0 = threadsCpu()
  const p0 = cpuOf(pids)
  const started = performance.now()
  const written = await writeEvents(writer, written0 + 1)
  const writtenAt = performance.now()
  let backlog = Number.POSITIVE_INFINITY
  let peak = 0
  while (backlog > 0) {
    const { rows } = await writer.query<{ n: number }>(`
      select (select count(*) from outbox where fanned_out_at is null)::int
           + (select count(*) from webhook_deliveries where status = 'pending')::int as n`)
    backlog = rows[0]?.n ?? 0
    peak = Math.max(peak, backlog)
    if (performance.now() - started > 600_000) throw new Error('not drained in 10 minutes')
    if (backlog > 0) await new Promise((r) => setTimeout(r, 100))
  }
  const drainedAt = performance.now()
  const nodeCpu = process.cpuUsage(n0)
  const t1 = threadsCpu()
  const byThread = Object.fromEntries(
    Object.entries(t1).map(([k, v]) => [k, Number(((v - (t0[k] ?? 0)) / written).toFixed(1))]),
  )
  const pgCpu = cpuOf(pids) - p0
  counting = false
  const trips = roundTrips
  const dbCommits = commits
  await dispatcher.stop()
  const received = (await receiver.count()) - receivedBefore
  const { rows: delivered } = await writer.query<{ n: number }>(
    `select count(*)::int as n from webhook_deliveries where status = 'delivered'`,
  )
  const perDelivery = (x: number) => Number((x / written).toFixed(2))
  const writerNodeUs = ((writerCpu.user + writerCpu.system) * written) / written0
  const report = {
    date: new Date().toISOString(),
    loadAverage: os.loadavg(),
    rate,
    seconds,
    events: written,
    delivered: delivered[0]?.n,
    received,
    peakBacklog: peak,
    drainAfterWritesMs: Math.round(drainedAt - writtenAt),
    perDelivery: {
      nodeCpuUs: perDelivery(nodeCpu.user + nodeCpu.system - writerNodeUs),
      pgCpuUs: perDelivery(pgCpu),
      roundTrips: perDelivery(trips),
      commits: perDelivery(dbCommits),
    },
    nodeCpuUsByThread: byThread,
    dispatcherBackends: pids.length,
    stats: dispatcher.stats,
  }
  console.log(JSON.stringify(report, null, 2))
  if (args.out) writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`)
  await writer.end()
  await db.destroy()
  receiver.stop()
}

await main()
