/**
 * CPU time per request of the service on the embedded database, without HTTP or a load
 * generator competing for the cores: the app built in this process (as the tests build it) on
 * a new data folder, `POST /api/orders`, `GET /api/orders/:n` and the confirmation page
 * `GET /orders/:n` through `app.inject`, 32 at a time (so orders
 * share statements as under load), a warm-up first (`WARM` of each, default 3,000: long enough
 * for V8 to finish what it optimizes), then 2,000 orders and 4,000 of each read measured with
 * process.cpuUsage(). Prints one JSON line: the Node flags, CPU and wall ms per
 * request, and the process's peak RSS (VmHWM, creating the database included).
 *
 *   node --max-semi-space-size=8 --max-old-space-size=192 --liftoff-only \
 *     scripts/bench-embedded-cpu.ts /tmp/cpu-data      # the folder must not exist yet
 *
 * For comparing Node flags (run each a few times, alternating): CPU time per request depends
 * far less on how busy the machine is than req/s.
 */
import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { apiOrderBody } from '../test/bench/flows.ts'

const dataDir = process.argv[2]
if (!dataDir || existsSync(dataDir)) {
  console.error('usage: node [flags] scripts/bench-embedded-cpu.ts <new data folder>')
  process.exit(2)
}
const app = await buildApp({
  config: loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_MAX: '0',
    NODE_ENV: 'production',
  }),
})
const numbers: string[] = []

async function place() {
  const res = await app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    payload: apiOrderBody(),
  })
  if (res.statusCode !== 201) throw new Error(`POST /api/orders: ${res.statusCode} ${res.body}`)
  numbers.push(res.json<{ orderNumber: string }>().orderNumber)
}

/** A GET of `url` that must answer 200. */
const get = (url: () => string) => async () => {
  const res = await app.inject({ method: 'GET', url: url() })
  if (res.statusCode !== 200) throw new Error(`GET ${url()}: ${res.statusCode}`)
}
const anOrder = () => numbers[Math.floor(Math.random() * numbers.length)]
const lookup = get(() => `/api/orders/${anOrder()}`)
const confirmation = get(() => `/orders/${anOrder()}`)

/** `n` calls of `fn`, 32 in flight at a time: CPU and wall milliseconds per call. */
async function measure(name: string, n: number, fn: () => Promise<void>) {
  const cpu = process.cpuUsage()
  const began = performance.now()
  let left = n
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (left-- > 0) await fn()
    }),
  )
  const used = process.cpuUsage(cpu)
  return {
    name,
    n,
    cpuMsPerRequest: Number(((used.user + used.system) / 1000 / n).toFixed(3)),
    wallMsPerRequest: Number(((performance.now() - began) / n).toFixed(3)),
  }
}

try {
  const warm = Number(process.env.WARM || 3000)
  await measure('warm-up orders', warm, place)
  await measure('warm-up lookups', warm, lookup)
  await measure('warm-up confirmations', warm, confirmation)
  const results = [
    await measure('orders', 2000, place),
    await measure('lookups', 4000, lookup),
    await measure('confirmations', 4000, confirmation),
  ]
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
  console.log(
    JSON.stringify({
      flags: process.execArgv.join(' '),
      results,
      peakRssMb: Math.round(Number(hwm) / 1024),
    }),
  )
} finally {
  await app.close()
}
