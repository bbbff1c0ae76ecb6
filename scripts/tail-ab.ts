/**
 * The shopper flow at a fixed arrival rate against several services side by side, in turns (each
 * round reverses the order), each with scripts/tail-probe.ts preloaded: for finding what makes the
 * flow's tail (issue 19, docs/benchmarks.md "Stop 22"). A variant is `name:K=V,K=V`: environment
 * for that service, plus `CWD=<checkout>` to run another tree (its node_modules installed or
 * linked). `--tool` picks the generator: `autocannon` (10 connections, JavaScript, the bench's
 * half-rate case until stop 29), `wrk` (test/bench/wrk/shopper.lua paced, `--connections`), or
 * `both`, each in turn on every service in every round.
 *
 *   npx node scripts/tail-ab.ts --rate 2900 --rounds 6 --variant before:CWD=/tmp/ab --variant after:
 *   npx node scripts/tail-ab.ts --variant base: --variant slowfold:FOLD_INTERVAL_MS=2000
 *   npx node scripts/tail-ab.ts --tool both --rate 3000 --rounds 4
 *
 * Each service runs as `npm run bench` runs it (one worker, production, no rate limit) on its
 * own database `tailab_<i>` (dropped and made afresh), ports from `--port` up. Prints one JSON
 * line per run: client percentiles (ms), the probe's server time per route and statement kind
 * (µs), GC, event-loop delay (ms) and the process's CPU ms; then all of them as one JSON object.
 */
import { spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import pg from 'pg'
import {
  benchServerEnv,
  processTree,
  runWrkScript,
  serviceNodeFlags,
} from '../test/bench/common.ts'
import { formArgs, shopperFlow } from '../test/bench/flows.ts'

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '2900' },
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '15' },
    variant: { type: 'string', multiple: true, default: ['base:'] },
    port: { type: 'string', default: '23700' },
    flags: { type: 'string', default: '' },
    tool: { type: 'string', default: 'autocannon' },
    connections: { type: 'string', default: '32' },
  },
})
if (!['autocannon', 'wrk', 'both'].includes(args.tool)) {
  throw new Error(`--tool ${args.tool}: autocannon, wrk or both`)
}
const tools = args.tool === 'both' ? ['autocannon', 'wrk'] : [args.tool]
const server = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const probePath = fileURLToPath(new URL('./tail-probe.ts', import.meta.url))
const variants = args.variant.map((v, i) => {
  const [name, envs = ''] = v.split(/:(.*)/s)
  const env = Object.fromEntries(
    envs
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split(/=(.*)/s) as [string, string]),
  )
  return {
    name: name as string,
    env,
    port: Number(args.port) + i,
    db: `tailab_${i}`,
    probe: `/tmp/tailab-${i}.jsonl`,
  }
})

async function main() {
  const admin = new pg.Client({ connectionString: server })
  await admin.connect()
  const services = []
  for (const v of variants) {
    await admin.query(`drop database if exists ${v.db} with (force)`)
    await admin.query(`create database ${v.db}`)
    rmSync(v.probe, { force: true })
    const extra = (v.env.NODE_FLAGS ?? args.flags).split(' ').filter(Boolean)
    const child = spawn(
      'node',
      ['--import', probePath, ...serviceNodeFlags(v.env.CWD ?? '.'), ...extra, 'src/server.ts'],
      {
        env: {
          ...benchServerEnv(),
          PORT: String(v.port),
          DATABASE_URL: new URL(`/${v.db}`, server).toString(),
          PROBE_OUT: v.probe,
          ...v.env,
        },
        stdio: ['ignore', 'ignore', 'inherit'],
        cwd: v.env.CWD ?? '.',
      },
    )
    services.push({ v, child })
  }
  await admin.end()
  for (const { v } of services) {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${v.port}/api/products`)).ok) break
      } catch {}
      if (i > 600) throw new Error(`${v.name} did not start`)
      await new Promise((r) => setTimeout(r, 100))
    }
    // warm up
    await autocannon({
      url: `http://127.0.0.1:${v.port}`,
      requests: shopperFlow,
      connections: 10,
      duration: 5,
    })
  }
  const results: Record<string, unknown[]> = {}
  for (let round = 0; round < Number(args.rounds); round++) {
    const order = round % 2 ? [...services].reverse() : services
    for (const [{ v, child }, tool] of order.flatMap((s) => tools.map((t) => [s, t] as const))) {
      const pids = processTree(child.pid as number)
      for (const pid of pids) process.kill(pid, 'SIGWINCH')
      const r = await drive(tool, v.port)
      const before = readFileSync(v.probe, 'utf8').trim().split('\n').length
      for (const pid of pids) process.kill(pid, 'SIGWINCH')
      await new Promise((res) => setTimeout(res, 300))
      const lines = readFileSync(v.probe, 'utf8')
        .trim()
        .split('\n')
        .slice(before)
        .map((l) => JSON.parse(l))
      const p = lines.find((l) => l.routesUs?.['POST /orders']) ?? lines[0]
      const row = {
        round,
        tool,
        ...r,
        all: p?.routesUs?.all,
        post: p?.routesUs?.['POST /orders'],
        getForm: p?.routesUs?.['GET /'],
        getConf: p?.routesUs?.['GET /orders/:n'],
        batch: p?.statementsUs?.['place (batch)'],
        one: p?.statementsUs?.['place (one)'],
        other: p?.statementsUs?.other,
        fold: p?.statementsUs?.['sales fold'],
        fanout: p?.statementsUs?.['fan-out'],
        gc: p?.gc,
        eld: p?.eventLoopDelayMs,
        cpuMs: p?.cpuMs,
      }
      const name = tools.length > 1 ? `${v.name}/${tool}` : v.name
      results[name] = [...(results[name] ?? []), row]
      console.log(name, JSON.stringify(row))
    }
  }
  for (const { child } of services) child.kill('SIGTERM')
  console.log(JSON.stringify(results))
}
/** The flow at `--rate` for `--duration` s by `tool`: its rate, errors and client latencies (ms). */
async function drive(tool: string, port: number) {
  if (tool === 'wrk') {
    const w = runWrkScript('.', `http://127.0.0.1:${port}`, 'shopper.lua', formArgs(), {
      connections: args.connections,
      duration: args.duration,
      rate: Number(args.rate),
    })
    return {
      rps: Math.round(w.requests / (w.duration_us / 1e6)),
      errors: w.errors + w.unexpected,
      client: { p50: w.p50, p90: w.p90, p99: w.p99, p999: w.p999, max: w.max },
    }
  }
  const r = await autocannon({
    url: `http://127.0.0.1:${port}`,
    requests: shopperFlow,
    connections: 10,
    overallRate: Number(args.rate),
    duration: Number(args.duration),
  })
  return {
    rps: Math.round(r.requests.average),
    errors: r.errors + r['4xx'] + r['5xx'],
    client: {
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      p999: r.latency.p99_9,
      max: r.latency.max,
    },
  }
}

await main()
