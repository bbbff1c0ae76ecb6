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
 * secret) == order.placed events == orders placed on the "on" side.
 *
 *   npm run bench:webhooks -- [--rounds 4] [--duration 10] [--connections 32] [--out file.json]
 *
 * Needs wrk and a PostgreSQL server (BENCH_DATABASE_URL, default the local one).
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
import { skus, states } from '../test/bench/flows.ts'
import { freePort } from '../test/helpers/server.ts'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    'drain-timeout': { type: 'string', default: '600' },
    out: { type: 'string', default: 'docs/bench/webhooks-latest.json' },
  },
})
const rounds = Number(args.rounds)
const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const secret = `whsec_${randomBytes(32).toString('base64')}`

/** The receiver: a plain node:http server that verifies each request and counts webhook-ids. */
const ids = new Set<string>()
let requests = 0
let badSignatures = 0
const verifier = new Webhook(secret)
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    requests++
    const id = String(req.headers['webhook-id'])
    try {
      verifier.verify(Buffer.concat(chunks).toString(), {
        'webhook-id': id,
        'webhook-timestamp': String(req.headers['webhook-timestamp']),
        'webhook-signature': String(req.headers['webhook-signature']),
      })
      ids.add(id)
    } catch {
      badSignatures++
    }
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('ok')
  })
})
receiver.keepAliveTimeout = 60_000

interface Side {
  name: 'on' | 'off'
  env: Record<string, string>
  port: number
  databaseUrl: string
  process?: ChildProcess
  db?: pg.Client
}
const sideOf = (name: Side['name'], env: Record<string, string>): Side => ({
  name,
  env,
  port: 0,
  databaseUrl: Object.assign(new URL(serverUrl), { pathname: `/order_whb_${name}` }).toString(),
})
const sides = [
  sideOf('on', { WEBHOOKS_DISPATCH: 'on', WEBHOOKS_ALLOW_LOCAL: 'true' }),
  sideOf('off', { WEBHOOKS_DISPATCH: 'off' }),
]

async function waitUp(url: string) {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(url)).ok) return
    } catch {}
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${url} did not come up`)
}

async function startSide(side: Side, receiverUrl: string) {
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  const name = new URL(side.databaseUrl).pathname.slice(1)
  await admin.query(`drop database if exists ${name} with (force)`)
  await admin.query(`create database ${name}`)
  await admin.end()
  side.port = await freePort()
  side.process = spawn(
    process.execPath,
    ['--max-semi-space-size=8', '--max-old-space-size=192', 'src/server.ts'],
    {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        RATE_LIMIT_MAX: '0',
        HOST: '127.0.0.1',
        PORT: String(side.port),
        DATABASE_URL: side.databaseUrl,
        WEB_CONCURRENCY: '1',
        ...side.env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  )
  await waitUp(`http://127.0.0.1:${side.port}/api/products`)
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

function runWrk(side: Side, seconds = Number(args.duration)): { rps: number; errors: number } {
  const out = execFileSync(
    'wrk',
    [
      '-t2',
      `-c${args.connections}`,
      `-d${seconds}s`,
      '-s',
      'test/bench/wrk/orders.lua',
      `http://127.0.0.1:${side.port}`,
      '--',
      skus.join(','),
      states.join(','),
    ],
    { encoding: 'utf8' },
  )
  const json = /^WRK_JSON (.*)$/m.exec(out)?.[1]
  if (!json) throw new Error(`wrk printed no result for ${side.name}:\n${out}`)
  const r = JSON.parse(json) as {
    requests: number
    duration_us: number
    errors: number
    unexpected: number
  }
  return { rps: Math.round(r.requests / (r.duration_us / 1e6)), errors: r.errors + r.unexpected }
}

/** wrk as a child process, while this process samples the backlog and answers the webhooks. */
function runWrkSampled(side: Side & { db: pg.Client }) {
  const samples: number[] = []
  let stop = false
  const sampler = (async () => {
    while (!stop) {
      samples.push(await backlog(side.db))
      await new Promise((r) => setTimeout(r, 1000))
    }
  })()
  return new Promise<{ rps: number; errors: number; samples: number[] }>((resolve, reject) => {
    const child = spawn(
      'wrk',
      [
        '-t2',
        `-c${args.connections}`,
        `-d${args.duration}s`,
        '-s',
        'test/bench/wrk/orders.lua',
        `http://127.0.0.1:${side.port}`,
        '--',
        skus.join(','),
        states.join(','),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
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
        errors: r.errors + r.unexpected,
        samples,
      })
    })
  })
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
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
  try {
    for (const side of sides) await startSide(side, receiverUrl)
    const [on, off] = sides as [Side & { db: pg.Client }, Side & { db: pg.Client }]
    // Warm-up (not counted): JIT, pools and plans of both sides, then the on side's backlog.
    for (const side of sides) runWrk(side, 3)
    await drain(on.db)
    const runs: Record<string, unknown>[] = []
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? [on, off] : [off, on]
      for (const side of order) {
        const load = os.loadavg()[0]
        if (side.name === 'off') {
          const r = runWrk(side)
          runs.push({ round, side: 'off', ...r, load })
        } else {
          const { samples, ...r } = await runWrkSampled(side)
          const drainMs = Math.round(await drain(side.db))
          runs.push({
            round,
            side: 'on',
            ...r,
            load,
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
    const onRuns = runs.filter((r) => r.side === 'on')
    const offRuns = runs.filter((r) => r.side === 'off')
    const ratios = onRuns.map((r, i) => (r.rps as number) / (offRuns[i]?.rps as number))
    const report = {
      date: new Date().toISOString(),
      machine: `${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.cpus()[0]?.model}`,
      loadAverageEnd: os.loadavg(),
      rounds,
      duration: Number(args.duration),
      connections: Number(args.connections),
      runs,
      onRps: onRuns.map((r) => r.rps),
      offRps: offRuns.map((r) => r.rps),
      medianRatio: Number(median(ratios).toFixed(3)),
      maxBacklog: Math.max(...onRuns.map((r) => r.maxBacklog as number)),
      drainMs: onRuns.map((r) => r.drainMs),
      ordersPlaced: counts?.orders,
      placedEvents: counts?.events,
      deliveriesDelivered: counts?.delivered,
      receivedDistinctIds: ids.size,
      receivedRequests: requests,
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
    }
    receiver.close()
    receiver.closeAllConnections()
  }
}

await main()
