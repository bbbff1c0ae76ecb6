/**
 * `npm run bench:webhooks`: does the webhook dispatcher keep up with order placement at full
 * speed, and what does it cost it? Through the real service (`node src/server.ts`, as bench:ab
 * starts it: production, one worker, the same heap flags), two copies of this tree side by side,
 * each on its own fresh database (`order_whb_on`, `order_whb_off`, dropped and made afresh):
 *
 * - on:  WEBHOOKS_DISPATCH=on, WEBHOOKS_ALLOW_LOCAL=true, one endpoint for `order.placed`
 *        (inserted straight into its database) pointing at a receiver in this process;
 * - off: WEBHOOKS_DISPATCH=off, no endpoint.
 *
 * Each round drives `POST /orders` (wrk, test/bench/wrk/orders.lua: npm run bench's order form)
 * for `--duration` seconds against each side, in ABBA order (round 1 on then off, round 2 off then
 * on, …). During an "on" run the backlog, events not yet fanned out plus pending deliveries, is
 * sampled every second (SQL on the side's database); after it, the script waits until the backlog
 * is empty (the drain time) before the next run, so the next run never competes with a drain.
 * At the end: received distinct webhook-ids (each signature verified with the endpoint's
 * secret) == order.placed events == orders placed on the "on" side. The receiver only stores
 * what it gets during the runs and verifies every signature after the last one, so its own CPU
 * during a run is an HTTP server's, not the pure-JavaScript HMAC's.
 *
 * `--split`: delivery in a process of its own (docs/operations.md, "Delivery in a process of its own"): on
 * both sides the service runs with WEBHOOKS_DISPATCH=off; on the on side a second process with
 * WEBHOOKS_DISPATCH=only delivers. With `--cpus-orders` and `--cpus-dispatch` (taskset CPU
 * lists, e.g. 0 and 1), on BOTH sides the service, its PostgreSQL backends and wrk run on the
 * first set, and the dispatching process, its backends and this process (the receiver) on the
 * second: the on/off ratio then measures interference (PostgreSQL's shared work, caches), not
 * CPU taken from the orders. Backends are told apart by application_name (PGAPPNAME) and pinned
 * before each run and every second during it (the pool opens new ones). Each run also reports
 * the CPU per order of the service and its backends, and per delivery of the dispatching
 * process and its backends (/proc, user + system) and of this process (the receiver).
 *
 *   npm run bench:webhooks -- [--rounds 4] [--duration 10] [--connections 32] [--out file.json]
 *     [--split [--cpus-orders 0 --cpus-dispatch 1]] [--db-prefix order_whb_] [--port-base 0]
 *
 * `--port-base N`: the services listen on N, N+1, N+2 and the receiver on N+3 (0: free ports).
 * Needs wrk (and taskset for the CPU lists) and a PostgreSQL server (BENCH_DATABASE_URL,
 * default the local one).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { Webhook } from 'standardwebhooks'
import { benchServerEnv, cpuSeconds, serviceNodeFlags } from '../test/bench/common.ts'
import { formArgs } from '../test/bench/flows.ts'
import { freePort } from '../test/helpers/server.ts'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    'drain-timeout': { type: 'string', default: '600' },
    out: { type: 'string', default: 'docs/bench/webhooks-latest.json' },
    split: { type: 'boolean', default: false },
    'cpus-orders': { type: 'string' },
    'cpus-dispatch': { type: 'string' },
    'db-prefix': { type: 'string', default: 'order_whb_' },
    'port-base': { type: 'string', default: '0' },
  },
})
const rounds = Number(args.rounds)
const split = args.split
const cpus = { orders: args['cpus-orders'], dispatch: args['cpus-dispatch'] }
if (Boolean(cpus.orders) !== Boolean(cpus.dispatch) || (cpus.orders && !split)) {
  throw new Error('--cpus-orders and --cpus-dispatch go together, with --split')
}
if (!/^[a-z_][a-z0-9_]*$/.test(args['db-prefix'])) throw new Error('--db-prefix: a plain name')
const portBase = Number(args['port-base'])
const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const secret = `whsec_${randomBytes(32).toString('base64')}`

/**
 * The receiver: a plain node:http server that keeps each request's signature headers and body
 * and answers 200; the signatures are verified after the runs (verifyReceived).
 */
const received: { id: string; timestamp: string; signature: string; body: string }[] = []
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    received.push({
      id: String(req.headers['webhook-id']),
      timestamp: String(req.headers['webhook-timestamp']),
      signature: String(req.headers['webhook-signature']),
      body: Buffer.concat(chunks).toString(),
    })
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('ok')
  })
})
receiver.keepAliveTimeout = 60_000

/**
 * Every stored request's signature checked with the endpoint's secret (the library's verify,
 * its 5-minute timestamp tolerance taken as it would be at arrival); answers the distinct ids of
 * those that verify and the count of those that do not.
 */
function verifyReceived(): { ids: Set<string>; badSignatures: number } {
  const verifier = new Webhook(secret)
  const ids = new Set<string>()
  let badSignatures = 0
  // The library allows a timestamp 5 minutes either side of now and takes no "now" of ours:
  // each is checked as at its arrival (within the second), however long the runs took.
  const realNow = Date.now
  try {
    for (const r of received) {
      Date.now = () => Number(r.timestamp) * 1000
      try {
        verifier.verify(r.body, {
          'webhook-id': r.id,
          'webhook-timestamp': r.timestamp,
          'webhook-signature': r.signature,
        })
        ids.add(r.id)
      } catch {
        badSignatures++
      }
    }
  } finally {
    Date.now = realNow
  }
  return { ids, badSignatures }
}

interface Side {
  name: 'on' | 'off'
  env: Record<string, string>
  port: number
  databaseUrl: string
  process?: ChildProcess
  /** --split, on side: the process with WEBHOOKS_DISPATCH=only. */
  dispatcher?: ChildProcess
  db?: pg.Client
}
const sideOf = (name: Side['name'], env: Record<string, string>): Side => ({
  name,
  env,
  port: 0,
  databaseUrl: Object.assign(new URL(serverUrl), {
    pathname: `/${args['db-prefix']}${name}`,
  }).toString(),
})
const sides = [
  sideOf('on', { WEBHOOKS_DISPATCH: split ? 'off' : 'on', WEBHOOKS_ALLOW_LOCAL: 'true' }),
  sideOf('off', { WEBHOOKS_DISPATCH: 'off' }),
]
/** application_name of the service's and the dispatching process's connections. */
const appNames = { web: 'whb_web', dispatch: 'whb_dispatch' } as const

/** `command args` under taskset with `list` (a CPU list), or as it is without one. */
const pinned = (list: string | undefined, command: string, commandArgs: string[]) =>
  list
    ? (['taskset', ['-c', list, command, ...commandArgs]] as const)
    : ([command, commandArgs] as const)

/** Backends already pinned, by pid. */
const pinnedBackends = new Set<number>()
/** Pins the side's backends: the service's to the orders CPUs, the dispatcher's to the others. */
async function pinBackends(side: Side & { db: pg.Client }) {
  if (!cpus.orders || !cpus.dispatch) return
  const { rows } = await side.db.query<{ pid: number; application_name: string }>(
    `select pid, application_name from pg_stat_activity
     where datname = current_database() and application_name = any($1)`,
    [[appNames.web, appNames.dispatch]],
  )
  for (const { pid, application_name } of rows) {
    if (pinnedBackends.has(pid)) continue
    const list = application_name === appNames.web ? cpus.orders : cpus.dispatch
    try {
      execFileSync('taskset', ['-a', '-p', '-c', list, String(pid)], { stdio: 'ignore' })
      pinnedBackends.add(pid)
    } catch {} // gone meanwhile
  }
}

type CpuGroup = 'web' | 'webPg' | 'dispatch' | 'dispatchPg'

/**
 * The CPU (user + system, /proc) a side's processes and backends use from `start()` on, by
 * group: the service, its backends, the dispatching process, its backends. Read again every
 * second during a run: a backend the pool closes mid-run keeps what it used up to then, and one
 * it opens counts from 0.
 */
function cpuMeter(side: Side & { db: pg.Client }) {
  const first = new Map<number, number>()
  const last = new Map<number, number>()
  const groupOf = new Map<number, CpuGroup>()
  let started = false
  const read = async () => {
    const { rows } = await side.db.query<{ pid: number; application_name: string }>(
      `select pid, application_name from pg_stat_activity
       where datname = current_database() and application_name = any($1)`,
      [[appNames.web, appNames.dispatch]],
    )
    for (const r of rows)
      groupOf.set(r.pid, r.application_name === appNames.web ? 'webPg' : 'dispatchPg')
    if (side.process?.pid) groupOf.set(side.process.pid, 'web')
    if (side.dispatcher?.pid) groupOf.set(side.dispatcher.pid, 'dispatch')
    for (const [pid, seconds] of cpuSeconds([...groupOf.keys()])) {
      if (!first.has(pid)) first.set(pid, started ? 0 : seconds)
      last.set(pid, seconds)
    }
    started = true
  }
  return {
    read,
    /** Microseconds used by `groups` since the first reading, as of the last one. */
    used: (...groups: CpuGroup[]) =>
      [...last].reduce(
        (sum, [pid, s]) =>
          groups.includes(groupOf.get(pid) as CpuGroup)
            ? sum + (s - (first.get(pid) ?? 0)) * 1e6
            : sum,
        0,
      ),
  }
}

async function waitUp(url: string) {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(url)).ok) return
    } catch {}
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${url} did not come up`)
}

/** A service process (node src/server.ts as bench:ab starts it), on `cpuList` when given. */
function startService(env: Record<string, string>, cpuList: string | undefined): ChildProcess {
  const [command, commandArgs] = pinned(cpuList, process.execPath, [
    ...serviceNodeFlags(),
    'src/server.ts',
  ])
  return spawn(command, commandArgs, {
    env: { ...benchServerEnv(), ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
}

async function startSide(side: Side, receiverUrl: string, index: number) {
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  const name = new URL(side.databaseUrl).pathname.slice(1)
  await admin.query(`drop database if exists ${name} with (force)`)
  await admin.query(`create database ${name}`)
  await admin.end()
  side.port = portBase ? portBase + index : await freePort()
  const common = { DATABASE_URL: side.databaseUrl }
  side.process = startService(
    { ...common, ...side.env, PORT: String(side.port), PGAPPNAME: appNames.web },
    cpus.orders,
  )
  await waitUp(`http://127.0.0.1:${side.port}/api/products`)
  if (split && side.name === 'on') {
    const port = portBase ? portBase + 2 : await freePort()
    side.dispatcher = startService(
      {
        ...common,
        WEBHOOKS_DISPATCH: 'only',
        WEBHOOKS_ALLOW_LOCAL: 'true',
        PORT: String(port),
        PGAPPNAME: appNames.dispatch,
      },
      cpus.dispatch,
    )
    await waitUp(`http://127.0.0.1:${port}/readyz`)
  }
  side.db = new pg.Client({ connectionString: side.databaseUrl })
  await side.db.connect()
  await side.db.query('update products set stock = 1000000000')
  if (side.name === 'on') {
    await side.db.query(
      'insert into webhook_endpoints (url, event_types, secret) values ($1, $2, $3)',
      [receiverUrl, ['order.placed'], secret],
    )
  }
}

/** Events not yet fanned out plus deliveries pending: what the dispatcher still owes. */
async function backlog(db: pg.Client): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`
    select (select count(*) from outbox where fanned_out_at is null)::int
         + (select count(*) from webhook_deliveries where status = 'pending')::int as n`)
  return rows[0]?.n ?? 0
}

/**
 * wrk (on the orders CPUs when given) against the side for `seconds`, while this process
 * answers the webhooks, samples the backlog every second (on side) and pins new backends.
 */
function runWrk(
  side: Side & { db: pg.Client },
  seconds = Number(args.duration),
  meter?: ReturnType<typeof cpuMeter>,
) {
  const samples: number[] = []
  let stop = false
  const sampler = (async () => {
    while (!stop) {
      await pinBackends(side)
      await meter?.read()
      if (side.name === 'on') samples.push(await backlog(side.db))
      await new Promise((r) => setTimeout(r, 1000))
    }
  })()
  return new Promise<{ rps: number; requests: number; errors: number; samples: number[] }>(
    (resolve, reject) => {
      const [command, commandArgs] = pinned(cpus.orders, 'wrk', [
        '-t2',
        `-c${args.connections}`,
        `-d${seconds}s`,
        '-s',
        'test/bench/wrk/orders.lua',
        `http://127.0.0.1:${side.port}`,
        '--',
        ...formArgs(),
      ])
      const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString()
      })
      child.on('error', reject)
      child.on('close', async () => {
        stop = true
        await sampler
        const json = /^WRK_JSON (.*)$/m.exec(out)?.[1]
        if (!json) return reject(new Error(`wrk printed no result for ${side.name}:\n${out}`))
        const r = JSON.parse(json) as {
          requests: number
          duration_us: number
          errors: number
          unexpected: number
        }
        resolve({
          rps: Math.round(r.requests / (r.duration_us / 1e6)),
          requests: r.requests,
          errors: r.errors + r.unexpected,
          samples,
        })
      })
    },
  )
}

async function drain(db: pg.Client): Promise<number> {
  const started = performance.now()
  const limit = Number(args['drain-timeout']) * 1000
  while ((await backlog(db)) > 0) {
    if (performance.now() - started > limit) throw new Error('the backlog did not drain')
    await new Promise((r) => setTimeout(r, 200))
  }
  return performance.now() - started
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y)
  const m = s.length >> 1
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

async function main() {
  // This process is the receiver: on the dispatching side's CPUs, all its threads.
  if (cpus.dispatch) {
    execFileSync('taskset', ['-a', '-p', '-c', cpus.dispatch, String(process.pid)], {
      stdio: 'ignore',
    })
  }
  await new Promise<void>((r) => receiver.listen(portBase ? portBase + 3 : 0, '127.0.0.1', r))
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
  try {
    for (const [i, side] of sides.entries()) await startSide(side, receiverUrl, i)
    const [on, off] = sides as [Side & { db: pg.Client }, Side & { db: pg.Client }]
    // Warm-up (not counted): JIT, pools and plans of both sides, then the on side's backlog.
    for (const side of [on, off]) await runWrk(side, 3)
    await drain(on.db)
    const runs: Record<string, unknown>[] = []
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? [on, off] : [off, on]
      for (const side of order) {
        const load = os.loadavg()[0]
        await pinBackends(side)
        const meter = cpuMeter(side)
        await meter.read()
        const received0 = received.length
        const self0 = process.cpuUsage()
        const { samples, ...r } = await runWrk(side, Number(args.duration), meter)
        await meter.read()
        // CPU per order of the service and its backends during the run (with the dispatcher
        // in it, unless --split); the dispatching process's per delivery over run and drain.
        const per = (us: number, n: number) => Math.round(us / n)
        const perOrder = {
          webCpuUsPerOrder: per(meter.used('web', 'webPg'), r.requests),
          webNodeUs: per(meter.used('web'), r.requests),
          webPgUs: per(meter.used('webPg'), r.requests),
        }
        if (side.name === 'off') {
          runs.push({ round, side: 'off', ...r, load, ...perOrder })
        } else {
          const drainMs = Math.round(await drain(side.db))
          await meter.read()
          const deliveries = received.length - received0
          // This process: the receiver, and the sampling (a few queries a second).
          const self = process.cpuUsage(self0)
          runs.push({
            round,
            side: 'on',
            ...r,
            load,
            ...perOrder,
            ...(split
              ? {
                  dispatchCpuUsPerDelivery: per(meter.used('dispatch', 'dispatchPg'), deliveries),
                  dispatchNodeUs: per(meter.used('dispatch'), deliveries),
                  dispatchPgUs: per(meter.used('dispatchPg'), deliveries),
                }
              : {}),
            receiverCpuUsPerDelivery: per(self.user + self.system, deliveries),
            deliveries,
            maxBacklog: Math.max(...samples),
            samples,
            drainMs,
          })
        }
        const { samples: _, ...shown } = runs.at(-1) as Record<string, unknown>
        console.log(JSON.stringify(shown))
      }
    }
    const { rows } = await on.db.query<{ orders: number; events: number; delivered: number }>(`
      select (select count(*) from orders)::int as orders,
             (select count(*) from outbox where event_type = 'order.placed')::int as events,
             (select count(*) from webhook_deliveries where status = 'delivered')::int as delivered`)
    const counts = rows[0]
    const { ids, badSignatures } = verifyReceived()
    const onRuns = runs.filter((r) => r.side === 'on')
    const offRuns = runs.filter((r) => r.side === 'off')
    const ratios = onRuns.map((r, i) => (r.rps as number) / (offRuns[i]?.rps as number))
    const report = {
      date: new Date().toISOString(),
      // os.cpus(), not availableParallelism(): this process may be pinned to fewer.
      machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.cpus()[0]?.model}`,
      loadAverageEnd: os.loadavg(),
      rounds,
      duration: Number(args.duration),
      connections: Number(args.connections),
      split,
      cpus: cpus.orders ? cpus : undefined,
      runs,
      onRps: onRuns.map((r) => r.rps),
      offRps: offRuns.map((r) => r.rps),
      medianRatio: Number(median(ratios).toFixed(3)),
      // Medians over the runs, microseconds of CPU (user + system, /proc): per order of the
      // service and its backends (during the run), per delivery of the dispatching process and
      // its backends (run and drain; --split only).
      cpuUs: Object.fromEntries(
        ['webCpuUsPerOrder', 'webNodeUs', 'webPgUs'].map((k) => [
          k,
          {
            on: median(onRuns.map((r) => r[k] as number)),
            off: median(offRuns.map((r) => r[k] as number)),
          },
        ]),
      ),
      receiverCpuUsPerDelivery: median(onRuns.map((r) => r.receiverCpuUsPerDelivery as number)),
      ...(split
        ? Object.fromEntries(
            ['dispatchCpuUsPerDelivery', 'dispatchNodeUs', 'dispatchPgUs'].map((k) => [
              k,
              median(onRuns.map((r) => r[k] as number)),
            ]),
          )
        : {}),
      maxBacklog: Math.max(...onRuns.map((r) => r.maxBacklog as number)),
      drainMs: onRuns.map((r) => r.drainMs),
      ordersPlaced: counts?.orders,
      placedEvents: counts?.events,
      deliveriesDelivered: counts?.delivered,
      receivedDistinctIds: ids.size,
      receivedRequests: received.length,
      badSignatures,
      errors: runs.reduce((n, r) => n + (r.errors as number), 0),
    }
    writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`)
    const { runs: _, ...summary } = report
    console.log(JSON.stringify(summary, null, 2))
    if (ids.size !== counts?.orders || badSignatures > 0) process.exitCode = 1
  } finally {
    for (const side of sides) {
      await side.db?.end()
      side.process?.kill('SIGTERM')
      side.dispatcher?.kill('SIGTERM')
    }
    receiver.close()
    receiver.closeAllConnections()
  }
}

await main()
