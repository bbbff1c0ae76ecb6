import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { type Kysely, sql } from 'kysely'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { connect } from '../src/db/connect.ts'
import type { Database } from '../src/db/schema.ts'
import { insightsLagSeconds } from '../src/insights/sales-fold.ts'
import { topProducts } from '../src/insights/top-products.ts'
import { stateCodes } from '../src/us-states.ts'
import { stateAddresses } from './state-addresses.ts'

/**
 * The insights reads at scale, against DATABASE_URL (load it first with seed:orders):
 *
 *   npm run bench:insights                    latencies of the reads, one request at a time
 *   npm run bench:insights -- URL1 URL2 URL3  the same over several databases, side by side
 *   npm run bench:insights -- --explain       and EXPLAIN ANALYZE of the top-three query (last URL)
 *   npm run bench:insights -- --load 10       folder freshness under 10 s of full order load
 *
 * Reads are timed one at a time (no queueing in the numbers): the top three through Kysely
 * directly, pages through the real app with app.inject (no sockets), with every cache off
 * (TOP_PRODUCTS_CACHE_MS=0) so each request reads the database.
 */

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), mean }
}

async function time(iterations: number, run: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(200, iterations); i++) await run() // warm-up: plans, pool, caches
  const samples: number[] = []
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint()
    await run()
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  return samples
}

/** Order numbers of `n` orders picked uniformly at random by id. */
async function sampleOrderNumbers(db: Kysely<Database>, n: number): Promise<string[]> {
  const { rows } = await sql<{ order_number: string }>`
    select order_number from orders
    where id in (
      select (lo + floor(random() * (hi - lo + 1)))::bigint
      from (select min(id) lo, max(id) hi from orders) b, generate_series(1, ${n * 2})
    )
    limit ${n}
  `.execute(db)
  return rows.map((r) => r.order_number)
}

interface Target {
  label: string
  reads: [string, () => Promise<unknown>][]
  explain: () => Promise<string[]>
  /** The confirmation page's order lookup: the one read that does touch orders. */
  explainLookup: () => Promise<string[]>
  close: () => Promise<void>
}

// The bench measures the service, not its guards: no rate limit, no 503 under pressure.
const benchEnv = { RATE_LIMIT_MAX: '0', MAX_EVENT_LOOP_DELAY_MS: '0', LOG_LEVEL: 'silent' }

/** One database to measure: the reads against it, through Kysely and through the real app. */
async function target(databaseUrl: string): Promise<Target> {
  const db = connect({ databaseUrl, dataDir: 'unused', poolSize: 4 })
  const config = loadConfig({
    ...benchEnv,
    DATABASE_URL: databaseUrl,
    TOP_PRODUCTS_CACHE_MS: '0',
    NODE_ENV: 'production',
  })
  const app = await buildApp({ config, salesFold: false })
  await app.ready()
  const { orders } = await db
    .selectFrom('orders')
    .select((eb) => eb.fn.countAll<string>().as('orders'))
    .executeTakeFirstOrThrow()
  const numbers = await sampleOrderNumbers(db, 2000)
  if (numbers.length === 0) throw new Error('No orders: load some with npm run seed:orders first.')
  const html = { accept: 'text/html' }
  const page = (url: string) => async () => {
    const res = await app.inject({ url, headers: html })
    if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}`)
  }
  return {
    label: `${Number(orders).toLocaleString('en-US')} orders`,
    reads: [
      ['top three (Kysely, random state)', () => topProducts(db, pick(stateCodes))],
      ['GET /orders/:n (confirmation page)', () => page(`/orders/${pick(numbers)}`)()],
      ['GET /insights (map page)', page('/insights')],
      ['GET /insights/:state', () => page(`/insights/${pick(stateCodes)}`)()],
      ['GET /api/insights', page('/api/insights')],
    ],
    explain: async () => {
      const query = db
        .selectFrom('state_product_sales as s')
        .innerJoin('products as p', 'p.id', 's.product_id')
        .select(['p.sku', 'p.name', 's.units'])
        .where('s.state', '=', 'CA')
        .orderBy('s.units', 'desc')
        .orderBy('s.product_id')
        .limit(3)
      const plan = await query.explain('text', sql`analyze, buffers`)
      return plan.map((row) => String(Object.values(row)[0]))
    },
    explainLookup: async () => {
      const plan = await db
        .selectFrom('orders as o')
        .innerJoin('order_lines as l', 'l.order_id', 'o.id')
        .select(['o.order_number', 'o.state', 'l.product_id', 'l.quantity'])
        .where('o.order_number', '=', pick(numbers))
        .explain('text', sql`analyze, buffers`)
      return plan.map((row) => String(Object.values(row)[0]))
    },
    close: async () => {
      await app.close()
      await db.destroy()
    },
  }
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0

/**
 * Every read against every database, `rounds` times over, the databases taking turns within a
 * round so that whatever else the machine does hits them alike; reports the median over rounds.
 */
async function readLatencies(urls: string[], iterations: number, rounds: number, explain: boolean) {
  const targets: Target[] = []
  try {
    for (const url of urls) targets.push(await target(url))
    const results = new Map<string, { p50: number[]; p99: number[]; mean: number[] }>()
    for (let round = 0; round < rounds; round++) {
      for (const t of targets) {
        for (const [name, run] of t.reads) {
          const p = percentiles(await time(iterations, run))
          const key = `${name}|${t.label}`
          const r = results.get(key) ?? { p50: [], p99: [], mean: [] }
          r.p50.push(p.p50)
          r.p99.push(p.p99)
          r.mean.push(p.mean)
          results.set(key, r)
        }
      }
    }
    const f = (v: number) => v.toFixed(2)
    console.info(
      `\n${iterations} requests per read per round, one at a time, ${rounds} rounds; ms. Median of the rounds, and the best round's p99 (noise from elsewhere on the machine only ever adds).\n`,
    )
    console.info(
      '| read | database | p50 | p99 | mean | best p99 | best p99 / first |\n|---|---|---:|---:|---:|---:|---:|',
    )
    for (const [name] of targets[0]?.reads ?? []) {
      let base = 0
      for (const t of targets) {
        const r = results.get(`${name}|${t.label}`)
        if (!r) continue
        const best = Math.min(...r.p99)
        base ||= best
        console.info(
          `| ${name} | ${t.label} | ${f(median(r.p50))} | ${f(median(r.p99))} | ${f(median(r.mean))} | ${f(best)} | ${(best / base).toFixed(2)} |`,
        )
      }
    }
    if (explain) {
      const last = targets[targets.length - 1] as Target
      console.info(`\nEXPLAIN (ANALYZE, BUFFERS) of the top-three query for CA, ${last.label}:\n`)
      for (const line of await last.explain()) console.info(line)
      for (const t of targets) {
        console.info(`\nEXPLAIN (ANALYZE, BUFFERS) of an order lookup by number, ${t.label}:\n`)
        for (const line of await t.explainLookup()) console.info(line)
      }
    }
  } finally {
    for (const t of targets) await t.close()
  }
}

/**
 * Full order load on one instance (folder on, default interval) while sampling how old the
 * oldest unfolded sale is: the top three's staleness. The folder keeps up if it stays under 1 s.
 */
async function foldUnderLoad(databaseUrl: string, seconds: number) {
  const config = loadConfig({ ...benchEnv, DATABASE_URL: databaseUrl, NODE_ENV: 'production' })
  const app = await buildApp({ config, salesFold: true })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const skus = ['MUG-001', 'TEE-002', 'CAP-003', 'BTL-005', 'NTB-009', 'SCK-010', 'LMP-006']
  const lags: number[] = []
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      lags.push(await insightsLagSeconds(app.db))
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  const result = await autocannon({
    url,
    connections: 32,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/api/orders',
        setupRequest: (req) => {
          // A state and a ZIP code of it: a ZIP of another state is refused (zip-prefixes.ts).
          const { code, city, zip } = pick(stateAddresses)
          return {
            ...req,
            headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
            body: JSON.stringify({
              items: [{ sku: pick(skus), quantity: 1 }],
              customer: {
                name: 'Load Test',
                email: 'load@example.com',
                address: '1 Bench Way',
                city,
                state: code,
                zip,
              },
            }),
          }
        },
      },
    ],
  })
  // Then how long until the last sale of the run is folded.
  const drainStart = Date.now()
  while ((await insightsLagSeconds(app.db)) > 0 && Date.now() - drainStart < 10_000) {
    await new Promise((r) => setTimeout(r, 20))
  }
  const drainMs = Date.now() - drainStart
  sampling = false
  await sampler
  const folded = app.salesFoldStats.folded
  await app.close()
  const p = percentiles(lags)
  console.info(
    `\norder load: ${result.requests.average.toFixed(0)} orders/s for ${seconds} s (${result['2xx']} placed, ${result.non2xx} non-2xx, ${result.errors} errors), p99 latency ${result.latency.p99} ms`,
  )
  console.info(
    `top-three staleness (age of the oldest unfolded sale, sampled every 100 ms): p50 ${(p.p50 * 1000).toFixed(0)} ms, p99 ${(p.p99 * 1000).toFixed(0)} ms, max ${(Math.max(...lags) * 1000).toFixed(0)} ms; queue empty ${drainMs} ms after the load; ${folded} sales folded in ${app.salesFoldStats.batches} batches`,
  )
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      iterations: { type: 'string', default: '2000' },
      rounds: { type: 'string', default: '5' },
      explain: { type: 'boolean', default: false },
      load: { type: 'string' },
    },
  })
  const urls = positionals.length > 0 ? positionals : [process.env.DATABASE_URL ?? '']
  if (urls.some((u) => !/^postgres(ql)?:\/\//.test(u))) {
    console.error(
      'bench:insights needs DATABASE_URL, or postgres:// URLs as arguments (databases loaded with seed:orders).',
    )
    process.exit(2)
  }
  if (values.load) await foldUnderLoad(urls[0] as string, Number(values.load))
  else await readLatencies(urls, Number(values.iterations), Number(values.rounds), values.explain)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
