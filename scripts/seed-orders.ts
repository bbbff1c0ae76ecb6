import { randomFillSync, randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type RawBuilder,
  sql,
} from 'kysely'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { connect } from '../src/db/connect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import type { Database } from '../src/db/schema.ts'
import {
  addToStateProductSales,
  addToStateSales,
  SALES_FOLD_LOCK,
} from '../src/insights/sales-fold.ts'
import { encodeOrderNumber } from '../src/orders/order-number.ts'
import { seedCatalogue } from '../src/products/seed.ts'
import { stateAddresses } from './state-addresses.ts'

/**
 * Bulk-loads realistic orders with COPY: `npm run seed:orders -- --count 1000000`.
 *
 * Each batch is one transaction: COPY the orders (ids drawn from the orders' own identity
 * sequence, so lines can name their order and live orders never clash), COPY their lines, then
 * add the batch's sums to the insights aggregates. A batch is loaded and counted together or
 * not at all, so the aggregates stay exactly equal to a GROUP BY over order lines however often
 * the loader runs and wherever it is stopped. Stock is not taken: this is past sales.
 *
 * Orders are spread evenly over the past year in the order of their ids, each with the status its age makes likely
 * (statusMix: placed and packed in the last days, then shipped, the rest delivered, 5%
 * cancelled), the version and the carrier and tracking number that status implies; a cancelled
 * order's sales are left out of the aggregates, as a cancel takes them out. No history
 * (order_events) is written: the back office's list does not read it, and a seeded order's page
 * shows an empty history. E-mails repeat (about one per 25 orders at ten million).
 */

// Each state's share of the population, a big city and a ZIP code of it.
const states = stateAddresses

const firstNames =
  'Ada Grace Alan Edsger Barbara Donald Frances Ken Margaret Dennis Radia Linus Hedy John Katherine Tim Anita Guido Shafi Niklaus'.split(
    ' ',
  )
const lastNames =
  'Lovelace Hopper Turing Dijkstra Liskov Knuth Allen Thompson Hamilton Ritchie Perlman Torvalds Lamarr McCarthy Johnson Berners-Lee Borg Rossum Goldwasser Wirth'.split(
    ' ',
  )
const streets = 'Main Oak Pine Maple Cedar Elm Washington Lake Hill Park River Sunset'.split(' ')
const suffixes = ['St', 'Ave', 'Rd', 'Blvd', 'Ln', 'Way']
const carriers = ['UPS', 'USPS', 'FedEx', 'DHL']

type SeedStatus = 'placed' | 'packed' | 'shipped' | 'delivered' | 'cancelled'

/**
 * Where an order of a given age (days) stands, as in a shop that packs within a day or two and
 * delivers within a week or so: the newest are placed or packed, then shipped, the rest
 * delivered; about 5% of every age cancelled (from placed). Over a year of orders that is
 * roughly delivered 90%, cancelled 5%, shipped 2%, placed and packed under 1% each, so every
 * status filter of the back office has rows to find, the rare ones too.
 */
const statusMix: { maxAgeDays: number; mix: [SeedStatus, number][] }[] = [
  {
    maxAgeDays: 1,
    mix: [
      ['placed', 65],
      ['packed', 30],
      ['cancelled', 5],
    ],
  },
  {
    maxAgeDays: 3,
    mix: [
      ['placed', 10],
      ['packed', 30],
      ['shipped', 55],
      ['cancelled', 5],
    ],
  },
  {
    maxAgeDays: 10,
    mix: [
      ['shipped', 45],
      ['delivered', 50],
      ['cancelled', 5],
    ],
  },
  {
    maxAgeDays: Number.POSITIVE_INFINITY,
    mix: [
      ['delivered', 95],
      ['cancelled', 5],
    ],
  },
]

/** An order's version (its ETag) is 1 when placed, plus one per status change since. */
const versionOf: Record<SeedStatus, number> = {
  placed: 1,
  packed: 2,
  shipped: 3,
  delivered: 4,
  cancelled: 2,
}

/** Picks index i with probability weights[i] / sum, by binary search over the running sums. */
function sampler(weights: number[], random: () => number): () => number {
  const cumulative: number[] = []
  let total = 0
  for (const w of weights) {
    total += w
    cumulative.push(total)
  }
  return () => {
    const x = random() * total
    let lo = 0
    let hi = cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((cumulative[mid] as number) > x) hi = mid
      else lo = mid + 1
    }
    return lo
  }
}

interface Product {
  id: number
  priceCents: number
}

/**
 * Zipf-distributed products (rank r sells like 1/r), with the leaders reshuffled a little per
 * state so the map has regional best sellers, like real sales.
 */
function productPickers(products: Product[], random: () => number): Map<string, () => Product> {
  const pickers = new Map<string, () => Product>()
  states.forEach((s, i) => {
    const ranked = [...products]
    const swap = (a: number, b: number) => {
      const t = ranked[a] as Product
      ranked[a] = ranked[b] as Product
      ranked[b] = t
    }
    if (i % 3 === 1) swap(0, 1)
    if (i % 5 === 2) swap(0, 2)
    if (i % 7 === 3) swap(1, 4)
    const pick = sampler(
      ranked.map((_, r) => 1 / (r + 1) ** 1.1),
      random,
    )
    pickers.set(s.code, () => ranked[pick()] as Product)
  })
  return pickers
}

/** `count` order numbers, 50 bits each from crypto, encoded as the service encodes them. */
function orderNumbers(count: number): string[] {
  const words = randomFillSync(new Uint32Array(count * 2))
  const out: string[] = new Array(count)
  for (let i = 0; i < count; i++)
    out[i] = encodeOrderNumber(words[2 * i] as number, words[2 * i + 1] as number)
  return out
}

interface Sums {
  units: number
  orders: number
  revenue: number
}

interface Batch {
  orders: string[]
  lines: string[]
  byProduct: Map<string, Sums>
  byState: Map<string, Sums>
  lineCount: number
}

const add = (
  map: Map<string, Sums>,
  key: string,
  units: number,
  orders: number,
  revenue: number,
) => {
  const s = map.get(key)
  if (s) {
    s.units += units
    s.orders += orders
    s.revenue += revenue
  } else map.set(key, { units, orders, revenue })
}

export interface Generator {
  batch(ids: string[], firstSeq: number): Batch
}

/**
 * Makes batches of orders in COPY text format, with their sums for the aggregates. Order `seq`
 * of `count` is placed at the seq/count point of the past year (plus up to one slot of jitter),
 * so creation time grows with the id, as orders arrive in a live shop: the list's indexes fill
 * at their ends and the table's physical order follows created_at, as in production.
 */
export function orderGenerator(
  products: Product[],
  count: number,
  random: () => number = Math.random,
): Generator {
  const pickState = sampler(
    states.map((s) => s.weight),
    random,
  )
  const pickers = productPickers(products, random)
  const pickLines = sampler([75, 18, 7], random)
  const pickQuantity = sampler([65, 22, 8, 3, 1, 1], random)
  const pickOf = <T>(list: T[]) => list[Math.floor(random() * list.length)] as T
  const statusPickers = statusMix.map(({ maxAgeDays, mix }) => {
    const pick = sampler(
      mix.map(([, w]) => w),
      random,
    )
    return {
      maxAgeMs: maxAgeDays * 86_400_000,
      pick: () => (mix[pick()] as [SeedStatus, number])[0],
    }
  })
  const pickStatus = (ageMs: number) =>
    (statusPickers.find((p) => ageMs < p.maxAgeMs) ?? statusPickers[0])?.pick() ?? 'placed'
  const run = randomUUID()
  const yearMs = 365 * 24 * 3600 * 1000
  const now = Date.now()
  const start = now - yearMs
  const slotMs = yearMs / Math.max(1, count)

  return {
    batch(ids, firstSeq) {
      const numbers = orderNumbers(ids.length)
      const orders: string[] = []
      const lines: string[] = []
      const byProduct = new Map<string, Sums>()
      const byState = new Map<string, Sums>()
      let lineCount = 0
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i] as string
        const state = states[pickState()] as (typeof states)[number]
        const pick = pickers.get(state.code) as () => Product
        const chosen = new Map<number, { product: Product; quantity: number }>()
        const want = pickLines() + 1
        for (let tries = 0; chosen.size < want && tries < 10; tries++) {
          const product = pick()
          if (!chosen.has(product.id))
            chosen.set(product.id, { product, quantity: pickQuantity() + 1 })
        }
        const created = start + (firstSeq + i + random()) * slotMs
        const status = pickStatus(now - created)
        // A cancelled order's sales were taken back out of the aggregates (as a cancel does).
        const counted = status !== 'cancelled'
        let total = 0
        let units = 0
        for (const { product, quantity } of chosen.values()) {
          const revenue = product.priceCents * quantity
          total += revenue
          units += quantity
          lines.push(`${id}\t${product.id}\t${quantity}\t${product.priceCents}\n`)
          if (counted) add(byProduct, `${state.code}|${product.id}`, quantity, 1, revenue)
        }
        lineCount += chosen.size
        if (counted) add(byState, state.code, units, 1, total)
        const first = pickOf(firstNames)
        const last = pickOf(lastNames)
        const seq = firstSeq + i
        // Shipped and delivered orders carry what shipping recorded (orders_shipped_tracked).
        const shipping =
          status === 'shipped' || status === 'delivered'
            ? `${pickOf(carriers)}\tT${id.padStart(12, '0')}`
            : '\\N\t\\N'
        orders.push(
          `${id}\t${numbers[i]}\tseed:${run}:${seq}\tseed\t${first} ${last}\t${first.toLowerCase()}.${last.toLowerCase()}${seq % 1000}@example.com\t${1 + Math.floor(random() * 9999)} ${pickOf(streets)} ${pickOf(suffixes)}\t${state.city}\t${state.code}\t${state.zip}\t${total}\t${new Date(created).toISOString()}\t${status}\t${versionOf[status]}\t${shipping}\n`,
        )
      }
      return { orders, lines, byProduct, byState, lineCount }
    },
  }
}

const copyOrders =
  'copy orders (id, order_number, idempotency_key, request_hash, customer_name, email, address, city, state, zip, total_cents, created_at, status, version, carrier, tracking_number) from stdin'
const copyLines = 'copy order_lines (order_id, product_id, quantity, unit_price_cents) from stdin'

/** Streams rows to COPY in chunks of a few thousand, so the server parses while we send. */
async function copyRows(client: pg.ClientBase, statement: string, rows: string[]) {
  const chunks = function* () {
    for (let i = 0; i < rows.length; i += 4000) yield rows.slice(i, i + 4000).join('')
  }
  await pipeline(Readable.from(chunks()), client.query(copyFrom(statement)))
}

// Compiles the service's SQL for this loader's own pg connections (COPY needs a raw client).
const compiler = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
})

/** Runs a Kysely sql`` statement on a raw pg client. */
const run = (client: pg.ClientBase, query: RawBuilder<unknown>) => {
  const { sql: text, parameters } = query.compile(compiler)
  return client.query(text, [...parameters])
}

async function loadBatch(client: pg.ClientBase, batch: Batch) {
  await client.query('begin')
  try {
    await copyRows(client, copyOrders, batch.orders)
    await copyRows(client, copyLines, batch.lines)
    // The folder's lock: aggregate rows are then updated by one writer at a time, in any order.
    await client.query('select pg_advisory_xact_lock($1)', [SALES_FOLD_LOCK])
    const p = [...batch.byProduct]
    await run(
      client,
      addToStateProductSales(sql`
        select * from unnest(${p.map(([k]) => k.slice(0, 2))}::text[],
          ${p.map(([k]) => Number(k.slice(3)))}::int[], ${p.map(([, s]) => s.units)}::bigint[],
          ${p.map(([, s]) => s.orders)}::bigint[], ${p.map(([, s]) => s.revenue)}::bigint[])`),
    )
    const s = [...batch.byState]
    await run(
      client,
      addToStateSales(sql`
        select * from unnest(${s.map(([k]) => k)}::text[], ${s.map(([, v]) => v.orders)}::bigint[],
          ${s.map(([, v]) => v.units)}::bigint[], ${s.map(([, v]) => v.revenue)}::bigint[])`),
    )
    await client.query('commit')
  } catch (err) {
    await client.query('rollback')
    throw err
  }
}

export interface SeedOptions {
  count: number
  batchSize?: number
  /** Connections loading batches side by side. */
  jobs?: number
  onProgress?: (loaded: number, elapsedMs: number) => void
}

export interface SeedResult {
  orders: number
  lines: number
  ms: number
}

/**
 * Migrates, seeds the catalogue, then loads `count` orders in batches (see the file comment).
 * Throws RangeError, before touching the database, unless count, batchSize and jobs are whole
 * numbers >= 1 (a batch of -5 looped forever).
 */
export async function seedOrders(
  databaseUrl: string,
  { count, batchSize = 50_000, jobs = 2, onProgress }: SeedOptions,
): Promise<SeedResult> {
  for (const [name, n] of Object.entries({ count, batchSize, jobs })) {
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new RangeError(`seedOrders: ${name} must be a whole number >= 1, got ${n}`)
    }
  }
  const db = connect({ databaseUrl, dataDir: 'unused', poolSize: 1 })
  let products: Product[]
  try {
    await migrateToLatest(db)
    await seedCatalogue(db)
    products = (
      await db.selectFrom('products').select(['id', 'price_cents']).orderBy('id').execute()
    ).map((p) => ({ id: p.id, priceCents: p.price_cents }))
  } finally {
    await db.destroy()
  }

  const started = Date.now()
  const generator = orderGenerator(products, count)
  let claimed = 0
  let loaded = 0
  let lines = 0

  // Each connection loads whole batches; two keep both cores busy (PostgreSQL parses, checks
  // keys and writes indexes; this process generates the rows).
  const worker = async () => {
    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      // Losing the last batches to a crash is harmless here (a rerun loads more); waiting for
      // each commit's fsync is not.
      await client.query('set synchronous_commit = off')
      while (claimed < count) {
        const first = claimed
        const size = Math.min(batchSize, count - claimed)
        claimed += size
        const { rows } = await client.query<{ id: string }>(
          `select nextval(pg_get_serial_sequence('orders', 'id'))::text as id from generate_series(1, $1)`,
          [size],
        )
        const ids = rows.map((r) => r.id)
        for (let attempt = 0; ; attempt++) {
          const batch = generator.batch(ids, first)
          try {
            await loadBatch(client, batch)
            lines += batch.lineCount
            break
          } catch (err) {
            // 50 random bits: at ten million orders a clash with an earlier number is likely
            // somewhere; draw the batch again.
            const e = err as { code?: string; constraint?: string }
            if (e.code !== '23505' || e.constraint !== 'orders_order_number_key' || attempt >= 3)
              throw err
          }
        }
        loaded += size
        onProgress?.(loaded, Date.now() - started)
      }
    } finally {
      await client.end()
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker))

  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  // Each batch rewrote every aggregate row, leaving (at 10M orders) 14 MB of dead versions
  // behind 714 live rows for the insights reads to wade through. Rewriting the two tiny tables
  // takes milliseconds (under a lock that long).
  await client.query('vacuum (full, analyze) state_product_sales, state_sales')
  await client.query('analyze orders, order_lines')
  await client.end()
  return { orders: loaded, lines, ms: Date.now() - started }
}

const usage = `Usage: npm run seed:orders -- --count N [--batch N] [--jobs N]
       npm run seed:orders -- --help

Bulk-loads N past orders into DATABASE_URL's PostgreSQL database with COPY, the insights
aggregates updated with them: --batch orders per transaction (default 50000), on --jobs
connections (default 2). Each number is a whole number >= 1 in digits; each option is given
once. Exit codes: 0 done, 1 failed, 2 bad usage.`

// What is wrong with the command line, or undefined when it is fine. Every number is a whole
// number >= 1 in digits: Number() took "1e3", "2.5", "-5" and "abc" (NaN), which looped forever,
// loaded nothing or failed deep in the database. parseArgs keeps the last of an option given
// twice, so "--count 10 --count 20" loaded 20 without a word.
function usageProblem(
  values: Record<string, string | boolean | undefined>,
  tokens: readonly { kind: string; name?: string }[],
): string | undefined {
  const seen = new Set<string>()
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === undefined) continue
    if (seen.has(token.name)) return `--${token.name} is given more than once: give it once.`
    seen.add(token.name)
  }
  if (values.count === undefined) return '--count is missing: say how many orders to load.'
  for (const name of ['count', 'batch', 'jobs']) {
    const value = values[name]
    if (typeof value === 'string' && !/^[1-9]\d*$/.test(value)) {
      return `--${name} is "${value}": give a whole number of at least 1, in digits (like 50000).`
    }
    if (typeof value === 'string' && !Number.isSafeInteger(Number(value))) {
      return `--${name} is "${value}", which is too large.`
    }
  }
  return undefined
}

async function main() {
  let values: { count?: string; batch?: string; jobs?: string; help?: boolean }
  let tokens: readonly { kind: string; name?: string }[]
  try {
    ;({ values, tokens } = parseArgs({
      tokens: true,
      options: {
        count: { type: 'string' },
        batch: { type: 'string' },
        jobs: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (err) {
    // parseArgs names the option or argument at fault ("Unknown option '--cuont'").
    console.error(`${(err as Error).message}\n${usage}`)
    process.exit(2)
  }
  if (values.help) {
    console.log(usage)
    return
  }
  // Before DATABASE_URL: a bad command line is bad wherever it would have run.
  const problem = usageProblem(values, tokens)
  if (problem) {
    console.error(`${problem}\n${usage}`)
    process.exit(2)
  }
  const count = Number(values.count)
  const databaseUrl = process.env.DATABASE_URL
  if (!databaseUrl || !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    console.error(
      'seed:orders needs DATABASE_URL set to a PostgreSQL database (postgres://...): it bulk-loads with COPY, which the embedded database does not offer.',
    )
    process.exit(2)
  }
  const batchSize = values.batch === undefined ? undefined : Number(values.batch)
  const rate = (n: number, ms: number) =>
    Math.round((n * 1000) / Math.max(ms, 1)).toLocaleString('en-US')
  let lastReport = 0
  const result = await seedOrders(databaseUrl, {
    count,
    ...(batchSize === undefined ? {} : { batchSize }),
    ...(values.jobs === undefined ? {} : { jobs: Number(values.jobs) }),
    onProgress: (loaded, ms) => {
      if (ms - lastReport < 2000 && loaded < count) return
      lastReport = ms
      console.info(
        `${loaded.toLocaleString('en-US')} / ${count.toLocaleString('en-US')} orders, ${(ms / 1000).toFixed(1)} s, ${rate(loaded, ms)} orders/s`,
      )
    },
  })
  console.info(
    `loaded ${result.orders.toLocaleString('en-US')} orders (${result.lines.toLocaleString('en-US')} lines) in ${(result.ms / 1000).toFixed(1)} s: ${rate(result.orders, result.ms)} orders/s; aggregates updated in the same transactions`,
  )
}

if (import.meta.main) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  })
}
