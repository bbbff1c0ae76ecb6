/**
 * `npm run bench:embedded`: what the embedded default (PGlite, no DATABASE_URL) costs a
 * newcomer who runs `npm start`: the first start on an empty data folder and a start on an
 * existing one (seconds to ready, peak RSS before any request, CPU seconds), then order
 * placement, order lookups and the shopper flow through wrk (req/s, p99, CPU ms per request),
 * the peak RSS under that load and the RSS after 10 s idle.
 *
 * Two checkouts side by side, in turns (ABBA rounds, as bench:ab), so a change is judged on a
 * machine whose speed drifts: `--a`, `--b` (default this one), each run as its own package.json's
 * `start` script runs it (`node <flags> src/server.ts` in that directory: the flags are read from
 * the script, so a change to them is what is measured), or with `--a-flags`/`--b-flags` instead
 * (the whole list, quoted), and the extra environment of `--a-env`/`--b-env` (K=V, repeatable).
 * Each round of each side starts on a new empty folder, so both sides place the same orders.
 *
 *   npm run bench:embedded -- --a /tmp/before --rounds 2
 *   npm run bench:embedded -- --only start          # the two starts alone, no load
 *
 * The servers run one at a time, on `--port` (a free one by default).
 *
 * Peak RSS is the server's VmHWM (Linux /proc), read when /readyz first answers 200 (start)
 * and after the load; CPU is utime+stime from /proc/<pid>/stat, which does not depend on how
 * busy the machine is, unlike req/s. Needs wrk (Debian: apt-get install wrk) unless `--only
 * start`. Writes `--out` (JSON) and prints a table.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { parseEnv, pathsFile, rpsOf, runWrkScript } from '../test/bench/common.ts'
import { apiOrderBody, formArgs } from '../test/bench/flows.ts'
import { median } from '../test/bench/stats.ts'
import { freePort, startFlags } from '../test/helpers/server.ts'

const { values: args } = parseArgs({
  options: {
    a: { type: 'string', default: '.' },
    b: { type: 'string', default: '.' },
    'a-flags': { type: 'string' },
    'b-flags': { type: 'string' },
    'a-env': { type: 'string', multiple: true, default: [] },
    'b-env': { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    idle: { type: 'string', default: '10' },
    only: { type: 'string' },
    port: { type: 'string' },
    out: { type: 'string', default: 'docs/bench/embedded-latest.json' },
  },
})
const rounds = Number(args.rounds)
const scratch = mkdtempSync(path.join(os.tmpdir(), 'bench-embedded-'))
const clockTick = 100 // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

interface Side {
  name: 'A' | 'B'
  dir: string
  flags: string[]
  env: Record<string, string>
}
const sides: Side[] = (['A', 'B'] as const).map((name) => {
  const dir = path.resolve(name === 'A' ? args.a : args.b)
  const flags = name === 'A' ? args['a-flags'] : args['b-flags']
  return {
    name,
    dir,
    flags: flags === undefined ? startFlags(dir) : flags.split(/\s+/).filter(Boolean),
    env: parseEnv(name === 'A' ? args['a-env'] : args['b-env']),
  }
})

/** VmRSS and VmHWM (peak since start) of a process, in MB. */
function memoryMb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0)
  return { rss: Math.round(kb('VmRSS') / 1024), hwm: Math.round(kb('VmHWM') / 1024) }
}

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid: number): number {
  // The command name in field 2 may hold spaces: count fields after its closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / clockTick
}

interface Running {
  proc: ChildProcess
  port: number
  url: string
}

async function start(side: Side, dataDir: string, logLevel: string): Promise<Running> {
  const port = args.port ? Number(args.port) : await freePort()
  const proc = spawn(process.execPath, [...side.flags, 'src/server.ts'], {
    cwd: side.dir,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      LOG_LEVEL: logLevel,
      RATE_LIMIT_MAX: '0',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      ...side.env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  return { proc, port, url: `http://127.0.0.1:${port}` }
}

async function stop({ proc }: Running): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise((resolve) => proc.once('exit', resolve))
  proc.kill('SIGTERM')
  await exited
}

interface StartResult {
  seconds: number
  peakMb: number
  cpuSeconds: number
}

/** Starts a side on `dataDir` and waits until /readyz answers 200: time, VmHWM, CPU then. */
async function measureStart(side: Side, dataDir: string): Promise<[Running, StartResult]> {
  const began = performance.now()
  const running = await start(side, dataDir, 'warn')
  const pid = running.proc.pid as number
  for (;;) {
    if (running.proc.exitCode !== null) throw new Error(`${side.name}: the server exited`)
    if (performance.now() - began > 600_000) throw new Error(`${side.name}: not ready in 10 min`)
    const ok = await fetch(`${running.url}/readyz`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) break
    await new Promise((r) => setTimeout(r, 100))
  }
  const result = {
    seconds: Number(((performance.now() - began) / 1000).toFixed(1)),
    peakMb: memoryMb(pid).hwm,
    cpuSeconds: cpuSeconds(pid),
  }
  return [running, result]
}

interface LoadResult {
  rps: number
  p99: number
  errors: number
  cpuMsPerRequest: number
}

/** wrk with one of the side's test/bench/wrk scripts, and the server's CPU time over the run. */
function load(side: Side, running: Running, script: string, scriptArgs: string[]): LoadResult {
  const pid = running.proc.pid as number
  const cpuBefore = cpuSeconds(pid)
  const r = runWrkScript(side.dir, running.url, script, scriptArgs, {
    connections: args.connections,
    duration: args.duration,
  })
  const cpu = cpuSeconds(pid) - cpuBefore
  return {
    rps: rpsOf(r),
    p99: r.p99,
    errors: r.errors + r.unexpected,
    cpuMsPerRequest: Number(((cpu * 1000) / Math.max(1, r.requests)).toFixed(3)),
  }
}

interface RoundResult {
  round: number
  side: 'A' | 'B'
  fresh: StartResult
  existing: StartResult
  orders?: LoadResult
  lookups?: LoadResult
  flow?: LoadResult
  peakUnderLoadMb?: number
  idleRssMb?: number
}

async function runSide(side: Side, round: number): Promise<RoundResult> {
  const dataDir = path.join(scratch, `data-${side.name}-${round}`)
  const [first, fresh] = await measureStart(side, dataDir)
  await stop(first)
  const [running, existing] = await measureStart(side, dataDir)
  const result: RoundResult = { round, side: side.name, fresh, existing }
  try {
    if (args.only === 'start') return result
    // Orders to look up, placed through the API first.
    const numbers: string[] = []
    for (let i = 0; i < 10; i++) {
      const placed = await Promise.all(
        Array.from({ length: 50 }, async () => {
          const res = await fetch(`${running.url}/api/orders`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
            body: apiOrderBody(),
          })
          const body = (await res.json()) as { orderNumber?: string }
          if (res.status !== 201 || !body.orderNumber)
            throw new Error(`${side.name}: POST /api/orders answered ${res.status}`)
          return body.orderNumber
        }),
      )
      numbers.push(...placed)
    }
    result.orders = load(side, running, 'orders.lua', formArgs())
    result.lookups = load(side, running, 'paths.lua', [
      pathsFile(
        scratch,
        `api-${side.name}-${round}`,
        numbers.map((n) => `/api/orders/${n}`),
      ),
    ])
    result.flow = load(side, running, 'shopper.lua', formArgs())
    const pid = running.proc.pid as number
    result.peakUnderLoadMb = memoryMb(pid).hwm
    await new Promise((r) => setTimeout(r, Number(args.idle) * 1000))
    result.idleRssMb = memoryMb(pid).rss
    return result
  } finally {
    await stop(running)
    rmSync(dataDir, { recursive: true, force: true })
  }
}

async function main() {
  const loadBefore = os.loadavg()
  const results: RoundResult[] = []
  for (let round = 1; round <= rounds; round++) {
    for (const side of round % 2 ? sides : [...sides].reverse()) {
      const r = await runSide(side, round)
      results.push(r)
      console.log(JSON.stringify(r))
    }
  }
  const of = (name: 'A' | 'B') => results.filter((r) => r.side === name)
  const figures: [string, (r: RoundResult) => number | undefined][] = [
    ['fresh start: seconds', (r) => r.fresh.seconds],
    ['fresh start: peak RSS MB', (r) => r.fresh.peakMb],
    ['fresh start: CPU s', (r) => r.fresh.cpuSeconds],
    ['existing start: seconds', (r) => r.existing.seconds],
    ['existing start: peak RSS MB', (r) => r.existing.peakMb],
    ['existing start: CPU s', (r) => r.existing.cpuSeconds],
    ['POST /orders req/s', (r) => r.orders?.rps],
    ['POST /orders p99 ms', (r) => r.orders?.p99],
    ['POST /orders CPU ms/req', (r) => r.orders?.cpuMsPerRequest],
    ['GET /api/orders/:n req/s', (r) => r.lookups?.rps],
    ['GET /api/orders/:n p99 ms', (r) => r.lookups?.p99],
    ['GET /api/orders/:n CPU ms/req', (r) => r.lookups?.cpuMsPerRequest],
    ['shopper flow req/s', (r) => r.flow?.rps],
    ['shopper flow p99 ms', (r) => r.flow?.p99],
    ['shopper flow CPU ms/req', (r) => r.flow?.cpuMsPerRequest],
    ['peak RSS after load MB', (r) => r.peakUnderLoadMb],
    ['RSS after idle MB', (r) => r.idleRssMb],
  ]
  const summary = figures.flatMap(([name, get]) => {
    const a = of('A').map(get)
    const b = of('B').map(get)
    if (a.some((x) => x === undefined) || b.some((x) => x === undefined)) return []
    const ratios = (a as number[]).map((x, i) => ((b[i] as number) / x).toFixed(3))
    return [{ figure: name, a: a as number[], b: b as number[], bOverA: ratios.map(Number) }]
  })
  const errors = results.reduce(
    (n, r) => n + (r.orders?.errors ?? 0) + (r.lookups?.errors ?? 0) + (r.flow?.errors ?? 0),
    0,
  )
  const report = {
    date: new Date().toISOString(),
    machine: `${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.cpus()[0]?.model}`,
    loadAverage: { before: loadBefore, after: os.loadavg() },
    a: { dir: sides[0]?.dir, flags: sides[0]?.flags, env: sides[0]?.env },
    b: { dir: sides[1]?.dir, flags: sides[1]?.flags, env: sides[1]?.env },
    rounds,
    duration: Number(args.duration),
    connections: Number(args.connections),
    errors,
    summary,
    results,
  }
  writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`)
  console.log(`\nA: ${sides[0]?.dir} ${sides[0]?.flags.join(' ')}`)
  console.log(`B: ${sides[1]?.dir} ${sides[1]?.flags.join(' ')}`)
  console.log(
    `load average before ${loadBefore.map((x) => x.toFixed(1)).join(' ')}, after ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}; errors ${errors}\n`,
  )
  console.log(
    `${'figure'.padEnd(32)} ${'A (each round)'.padEnd(22)} ${'B (each round)'.padEnd(22)} B/A median`,
  )
  for (const s of summary)
    console.log(
      `${s.figure.padEnd(32)} ${s.a.join(' / ').padEnd(22)} ${s.b.join(' / ').padEnd(22)} ${median(s.bOverA).toFixed(2)}`,
    )
}

try {
  await main()
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
