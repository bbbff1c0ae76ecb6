/**
 * `npm run bench:ab`: two versions of the service side by side, driven in turns, so a change is
 * judged on a machine whose speed drifts by half within minutes (docs/benchmarks.md, "Noise").
 * Two full `npm run bench` runs made one after the other compare two moments as much as two
 * versions; here each round runs every case against A and B back to back (ABBA order, so
 * neither side always goes first), and the verdict is the median of the per-round ratios B/A.
 *
 *   npm run bench:ab -- --a /tmp/before --b . --rounds 4
 *   npm run bench:ab -- --b-env WEBHOOKS_DISPATCH=off            # one tree, two settings
 *   npm run bench:ab -- --a /tmp/before --only /api/orders,top   # the cases whose names hold either
 *   npm run bench:ab -- --only POST --b-sql 'drop index orders_created'   # one tree, two schemas
 *   npm run bench:ab -- --only POST --b-node=--max-semi-space-size=16      # one tree, two flags
 *
 * Each side is a checkout (`--a`, `--b`, default this one) with its own `node_modules`, run as
 * `node src/server.ts` from that directory with one worker, its own database (`order_ab_a`,
 * `order_ab_b`, dropped and made afresh) and the extra environment of `--a-env`/`--b-env`
 * (K=V, repeatable). wrk runs each side's own test/bench/wrk scripts from its directory, so a
 * form that changed between the versions is posted the way each version reads it. The orders
 * looked up are placed through each side's `POST /api/orders` first. Needs wrk and pgbench's
 * server (BENCH_DATABASE_URL, default the local PostgreSQL); `--db` names the databases
 * (default order_ab: order_ab_a, order_ab_b). Writes `--out` (JSON).
 *
 * Besides req/s, each run reports the side's CPU time per request (`cpuUs`: user + system time
 * of its process from /proc/<pid>/stat across the wrk run, divided by the requests wrk counted)
 * and the summary its median ratio B/A (`cpuRatio`). It moves far less with the machine's load
 * than req/s does (a side that was starved of CPU serves fewer requests but not dearer ones),
 * though not nothing: on a VM at load 20 a cached read costs 1.5-3x its quiet price (caches,
 * steal, the GC's helper threads). `--prof <dir>` runs both sides under `node --cpu-prof` and
 * leaves their profiles in <dir>/A and <dir>/B (written as they exit).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { freePort } from '../helpers/server.ts'
import {
  benchServerEnv,
  cpuBetween,
  cpuSeconds,
  parseEnv,
  pathsFile as pathsFileIn,
  processTree,
  rpsOf,
  runWrkScript,
  serviceNodeFlags,
} from './common.ts'
import { apiOrderBody, formArgs, states } from './flows.ts'
import { median } from './stats.ts'

const { values: args } = parseArgs({
  options: {
    a: { type: 'string', default: '.' },
    b: { type: 'string', default: '.' },
    'a-env': { type: 'string', multiple: true, default: [] },
    'b-env': { type: 'string', multiple: true, default: [] },
    // SQL run on a side's database once it is up (after its migrations), before any case: to
    // weigh one piece of the schema (drop an index, say) against the same code on the other side.
    'a-sql': { type: 'string', multiple: true, default: [] },
    'b-sql': { type: 'string', multiple: true, default: [] },
    // Node or V8 flags for a side, after the ones `npm start` uses (a later V8 flag wins):
    // `--b-node=--max-semi-space-size=16` weighs a flag against the same tree without it.
    'a-node': { type: 'string', multiple: true, default: [] },
    'b-node': { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '4' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string' },
    prof: { type: 'string' },
    out: { type: 'string', default: 'docs/bench/ab-latest.json' },
    // Prefix of the two databases (<db>_a, <db>_b): another run at the same time needs its own.
    db: { type: 'string', default: 'order_ab' },
    // A port for side A, the next one for B, on a shared machine where each run has its range;
    // unset, each side takes a free one.
    port: { type: 'string' },
  },
})
const rounds = Number(args.rounds)
const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const scratch = mkdtempSync(path.join(os.tmpdir(), 'bench-ab-'))

interface Side {
  name: 'A' | 'B'
  dir: string
  env: Record<string, string>
  sql: string[]
  nodeFlags: string[]
  port: number
  databaseUrl: string
  process?: ChildProcess
  orderNumbers: string[]
}

const sides: Side[] = (['A', 'B'] as const).map((name) => ({
  name,
  dir: path.resolve(name === 'A' ? args.a : args.b),
  env: parseEnv(name === 'A' ? args['a-env'] : args['b-env']),
  sql: name === 'A' ? args['a-sql'] : args['b-sql'],
  nodeFlags: name === 'A' ? args['a-node'] : args['b-node'],
  port: 0,
  databaseUrl: Object.assign(new URL(serverUrl), {
    pathname: `/${args.db}_${name.toLowerCase()}`,
  }).toString(),
  orderNumbers: [],
}))

async function waitFor(url: string) {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(url)).ok) return
    } catch {}
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${url} did not come up`)
}

async function startSide(side: Side) {
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  const db = new URL(side.databaseUrl).pathname.slice(1)
  await admin.query(`drop database if exists ${db} with (force)`)
  await admin.query(`create database ${db}`)
  await admin.end()
  // A port of its own, not a fixed one: a fixed port may be another run's, whose answer to the
  // readiness probe would be taken for this side's.
  side.port = args.port ? Number(args.port) + (side.name === 'A' ? 0 : 1) : await freePort()
  side.process = spawn(
    process.execPath,
    [
      ...serviceNodeFlags(side.dir),
      ...side.nodeFlags,
      ...(args.prof ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args.prof, side.name)}`] : []),
      'src/server.ts',
    ],
    {
      cwd: side.dir,
      env: {
        ...benchServerEnv(),
        PORT: String(side.port),
        DATABASE_URL: side.databaseUrl,
        ...side.env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  )
  await waitFor(`http://127.0.0.1:${side.port}/api/products`)
  const client = new pg.Client({ connectionString: side.databaseUrl })
  await client.connect()
  await client.query('update products set stock = 1000000000')
  for (const statement of side.sql) await client.query(statement)
  await client.end()
  // Orders to look up, placed through the side's own API (its internals may differ).
  for (let i = 0; i < 20; i++) {
    const placed = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const res = await fetch(`http://127.0.0.1:${side.port}/api/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: apiOrderBody(),
        })
        const body = (await res.json()) as { orderNumber?: string }
        if (res.status !== 201 || !body.orderNumber) {
          throw new Error(`${side.name}: POST /api/orders answered ${res.status}`)
        }
        return body.orderNumber
      }),
    )
    side.orderNumbers.push(...placed)
  }
}

interface Case {
  name: string
  script: string
  args: (side: Side) => string[]
}

const pathsFile = (name: string, paths: string[]) => pathsFileIn(scratch, name, paths)

const cases: Case[] = [
  { name: 'GET /', script: 'paths.lua', args: () => [pathsFile('form', ['/'])] },
  // The form's own mix (1.25 lines an order) is bench.ts's case; here one line, as an older
  // form (before issue 17) posts, so both sides place the same order. An older form.lua
  // ignores the arguments after the states, so it posts no price-<SKU> fields: copy this one
  // into a tree whose form has them but whose form.lua does not (before the bench sent them).
  { name: 'POST /orders (one line)', script: 'orders.lua', args: () => formArgs(true) },
  // One line through the API: the same body in every version (the form grew a field per product
  // with issue 17), so two versions place the same order. Copy the script into an older tree.
  { name: 'POST /api/orders (one line)', script: 'api-orders.lua', args: () => formArgs() },
  {
    name: 'GET /orders/:n',
    script: 'paths.lua',
    args: (s: Side) => [
      pathsFile(
        `confirm-${s.name}`,
        s.orderNumbers.map((n: string) => `/orders/${n}`),
      ),
    ],
  },
  {
    name: 'GET /api/orders/:n',
    script: 'paths.lua',
    args: (s: Side) => [
      pathsFile(
        `api-${s.name}`,
        s.orderNumbers.map((n: string) => `/api/orders/${n}`),
      ),
    ],
  },
  {
    name: 'top products',
    script: 'paths.lua',
    args: () => [
      pathsFile(
        'top',
        states.map((s) => `/api/states/${s}/top-products`),
      ),
    ],
  },
  { name: 'shopper flow', script: 'shopper.lua', args: () => formArgs() },
].filter((c) => !args.only || args.only.split(',').some((only) => c.name.includes(only)))

interface Run {
  rps: number
  p99: number
  errors: number
  /** CPU time (user + system) of the side's process per request, µs. */
  cpuUs: number
  /**
   * CPU time of the PostgreSQL backends connected to the side's database (its pool, dispatcher
   * and mail sender) per request, µs: the SQL work a request causes, which cpuUs leaves out.
   */
  pgCpuUs: number
  /** Of which in garbage collection (prom-client's nodejs_gc_duration_seconds), µs. */
  gcUs: number
  /** V8 heap in use after the run (nodejs_heap_size_used_bytes), MiB. */
  heapMiB: number
}

/** The side's GC seconds so far and heap in use, from its own /metrics. */
async function gcAndHeap(side: Side): Promise<{ gcSeconds: number; heapBytes: number }> {
  const text = await (await fetch(`http://127.0.0.1:${side.port}/metrics`)).text()
  let gcSeconds = 0
  let heapBytes = 0
  for (const line of text.split('\n')) {
    if (line.startsWith('nodejs_gc_duration_seconds_sum')) gcSeconds += Number(line.split(' ')[1])
    if (line.startsWith('nodejs_heap_size_used_bytes')) heapBytes = Number(line.split(' ')[1])
  }
  return { gcSeconds, heapBytes }
}

/** Process ids of the PostgreSQL backends connected to the side's database. */
async function backendPids(side: Side): Promise<number[]> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = $1',
      [new URL(side.databaseUrl).pathname.slice(1)],
    )
    return rows.map((r) => r.pid)
  } finally {
    await client.end()
  }
}

async function runWrk(side: Side, c: Case): Promise<Run> {
  const pid = side.process?.pid as number
  const gcBefore = await gcAndHeap(side)
  const pgPids = await backendPids(side)
  const pgBefore = cpuSeconds(pgPids)
  const before = cpuSeconds(processTree(pid))
  const r = runWrkScript(side.dir, `http://127.0.0.1:${side.port}`, c.script, c.args(side), {
    connections: args.connections,
    duration: args.duration,
  })
  // The primary and its cluster workers (WEB_CONCURRENCY > 1).
  const cpu = cpuBetween(before, cpuSeconds(processTree(pid)))
  // Backends that left during the run are not counted; the pool keeps its connections under load.
  const pgCpu = cpuBetween(
    pgBefore,
    cpuSeconds([...new Set([...pgPids, ...(await backendPids(side))])]),
  )
  const gcAfter = await gcAndHeap(side)
  return {
    rps: rpsOf(r),
    p99: r.p99,
    errors: r.errors + r.unexpected,
    cpuUs: Math.round((cpu * 1e6) / r.requests),
    pgCpuUs: Math.round((pgCpu * 1e6) / r.requests),
    gcUs: Math.round(((gcAfter.gcSeconds - gcBefore.gcSeconds) * 1e6) / r.requests),
    heapMiB: Math.round(gcAfter.heapBytes / 2 ** 20),
  }
}

async function main() {
  try {
    for (const side of sides) await startSide(side)
    const results = cases.map((c) => ({ case: c.name, a: [] as Run[], b: [] as Run[] }))
    for (let round = 0; round < rounds; round++) {
      for (const [i, c] of cases.entries()) {
        const order = round % 2 === 0 ? sides : [...sides].reverse()
        for (const side of order) {
          const run = await runWrk(side, c)
          ;(side.name === 'A' ? results[i]?.a : results[i]?.b)?.push(run)
          console.log(JSON.stringify({ round: round + 1, side: side.name, case: c.name, ...run }))
        }
      }
    }
    const summary = results.map((r) => ({
      case: r.case,
      aRps: r.a.map((x) => x.rps),
      bRps: r.b.map((x) => x.rps),
      medianRatio: Number(median(r.a.map((x, i) => (r.b[i]?.rps ?? 0) / x.rps)).toFixed(3)),
      aP99Median: median(r.a.map((x) => x.p99)),
      bP99Median: median(r.b.map((x) => x.p99)),
      aCpuUs: r.a.map((x) => x.cpuUs),
      bCpuUs: r.b.map((x) => x.cpuUs),
      aGcUs: r.a.map((x) => x.gcUs),
      bGcUs: r.b.map((x) => x.gcUs),
      aHeapMiB: r.a.map((x) => x.heapMiB),
      bHeapMiB: r.b.map((x) => x.heapMiB),
      // B's CPU per request over A's, median of the rounds: above 1, B works more per request.
      cpuRatio: Number(median(r.a.map((x, i) => (r.b[i]?.cpuUs ?? 0) / x.cpuUs)).toFixed(3)),
      aPgCpuUs: r.a.map((x) => x.pgCpuUs),
      bPgCpuUs: r.b.map((x) => x.pgCpuUs),
      pgCpuRatio: Number(median(r.a.map((x, i) => (r.b[i]?.pgCpuUs ?? 0) / x.pgCpuUs)).toFixed(3)),
      errors: [...r.a, ...r.b].reduce((n, x) => n + x.errors, 0),
    }))
    const report = {
      date: new Date().toISOString(),
      machine: `${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.cpus()[0]?.model}`,
      loadAverage: os.loadavg(),
      a: { dir: sides[0]?.dir, env: sides[0]?.env, sql: sides[0]?.sql },
      b: { dir: sides[1]?.dir, env: sides[1]?.env, sql: sides[1]?.sql },
      rounds,
      duration: Number(args.duration),
      connections: Number(args.connections),
      summary,
    }
    writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`)
    console.log('\ncase                 B/A (median of rounds)  A req/s            B req/s')
    for (const s of summary) {
      console.log(
        `${s.case.padEnd(22)} ${s.medianRatio.toFixed(3).padStart(6)}   ${s.aRps.join('/').padEnd(30)} ${s.bRps.join('/')}   errors ${s.errors}`,
      )
    }
    console.log('\ncase                 CPU µs/request B/A      A µs/request       B µs/request')
    for (const s of summary) {
      console.log(
        `${s.case.padEnd(22)} ${s.cpuRatio.toFixed(3).padStart(6)}   ${s.aCpuUs.join('/').padEnd(30)} ${s.bCpuUs.join('/')}`,
      )
    }
    console.log('\ncase                 PostgreSQL CPU µs/request B/A  A µs   B µs')
    for (const s of summary) {
      console.log(
        `${s.case.padEnd(22)} ${s.pgCpuRatio.toFixed(3).padStart(6)}   ${s.aPgCpuUs.join('/').padEnd(30)} ${s.bPgCpuUs.join('/')}`,
      )
    }
    console.log(
      '\ncase                 GC µs/request A       GC µs/request B      heap MiB A / B after',
    )
    for (const s of summary) {
      console.log(
        `${s.case.padEnd(22)} ${s.aGcUs.join('/').padEnd(22)} ${s.bGcUs.join('/').padEnd(22)} ${s.aHeapMiB.join('/')} / ${s.bHeapMiB.join('/')}`,
      )
    }
  } finally {
    // Waited for: a side under --cpu-prof writes its profile as it exits.
    await Promise.all(
      sides.map(
        (side) =>
          new Promise((resolve) => {
            const child = side.process
            if (!child || child.exitCode !== null || child.signalCode !== null) return resolve(null)
            child.once('exit', resolve)
            child.kill('SIGTERM')
          }),
      ),
    )
  }
}

await main()
