import { randomUUID } from 'node:crypto'
import net from 'node:net'
import { type Kysely, sql } from 'kysely'
import { stateAddress } from '../../scripts/state-addresses.ts'
import type { Database } from '../../src/db/schema.ts'
import { foldSales } from '../../src/insights/sales-fold.ts'
import { catalogue } from '../../src/products/catalogue.ts'
import { queuedSales } from './insights.ts'

/** How many generated cases each property tries: RELIABILITY_RUNS, or more with SOAK=1. */
export const runs = (fallback: number) =>
  Number(process.env.RELIABILITY_RUNS) || (process.env.SOAK ? fallback * 10 : fallback)

export const soak = Boolean(process.env.SOAK)

/** A test's time limit: a minute by default, a quarter hour for soak or bigger runs. */
export const timeLimit = soak || process.env.RELIABILITY_RUNS ? 900_000 : 60_000

/**
 * Why `message` is not something to show a person, or undefined when it is fine: it must be a
 * plain, non-empty sentence with nothing internal in it (stack frames, file paths, SQL, driver
 * or framework error codes, unrendered values).
 */
export function inhumaneMessage(message: unknown): string | undefined {
  if (typeof message !== 'string') return `not a string: ${typeof message}`
  const m = message.trim()
  if (m.length < 3) return 'empty'
  if (m.length > 2000) return 'longer than 2000 characters'
  const internal: [RegExp, string][] = [
    [/\bat .+[:(]\d+:\d+\)?/, 'a stack frame'],
    [/\n\s+at /, 'a stack frame'],
    [/(^|[\s(])\/(src|test|node_modules|home|usr|work|app)\//, 'an internal file path'],
    [/\.(ts|js|mjs|cjs):\d+/, 'a source location'],
    [/node_modules/, 'node_modules'],
    [/\bundefined\b|\[object Object\]|\bNaN\b/, 'an unrendered value'],
    [/\b(select|insert|update|delete)\b[\s\S]*\b(from|into|set|where)\b/i, 'SQL'],
    [
      /\b(relation|column|constraint|violates|syntax error at or near|duplicate key)\b/i,
      'a database error',
    ],
    [
      /\b(pg_|kysely|pglite|postgres|ECONN\w+|EPIPE|ETIMEDOUT|FST_\w+|ERR_\w+)\b/i,
      'an internal code',
    ],
    [
      /\b(TypeError|ReferenceError|RangeError|SyntaxError|Cannot read propert)/,
      'a JavaScript error',
    ],
  ]
  // An unknown field is named as sent (JSON-quoted, src/validation.ts): the sender's own key,
  // `"NaN"` or `"/src/x.ts:1"` included, is not something the service let out.
  const ours = m.replace(/has an unknown field "(?:[^"\\]|\\.)*"/g, 'has an unknown field "x"')
  for (const [pattern, what] of internal) if (pattern.test(ours)) return `contains ${what}: ${m}`
  return undefined
}

/** The text a person reads on an HTML page: the error page's sentence or the form's field errors. */
export function pageMessages(html: string): string[] {
  const found: string[] = []
  for (const m of html.matchAll(/<p class="field-error"[^>]*>([^<]*)<\/p>/g)) found.push(m[1] ?? '')
  // The page's alert; on the order form, the error summary's notice.
  for (const m of html.matchAll(/<p class="(?:alert|notice)"[^>]*>([^<]*)<\/p>/g))
    found.push(m[1] ?? '')
  const page = html.match(
    /<section class="panel error-page"[\s\S]*?<h1[^>]*>[^<]*<\/h1>\s*<p>([^<]*)<\/p>/,
  )
  if (page) found.push(page[1] ?? '')
  return found.map(unescapeHtml)
}

const unescapeHtml = (s: string) =>
  s.replace(/&(#39|#x27|quot|lt|gt|amp);/g, (_, e: string) =>
    e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'amp' ? '&' : e === 'quot' ? '"' : "'",
  )

const stockAtStart = Object.fromEntries(catalogue.map((p) => [p.sku, p.stock]))

/**
 * The properties no request may break, read straight from the tables: no stock below zero,
 * every unit of stock that left is in a line of an order not cancelled (a cancel puts its
 * units back), no order without lines, every order's
 * total is the sum of its lines, and once the queue is folded the aggregates equal fresh
 * GROUP BYs over the order lines (every column the aggregates have). Returns what is wrong.
 */
export async function brokenInvariants(
  db: Kysely<Database>,
  { fold = true }: { fold?: boolean } = {},
): Promise<string[]> {
  const broken: string[] = []
  const negative = await sql<{ sku: string }>`select sku from products where stock < 0`.execute(db)
  if (negative.rows.length) broken.push(`stock below zero: ${negative.rows.map((r) => r.sku)}`)

  const taken = await sql<{ sku: string; stock: number; ordered: string | number }>`
    select p.sku, p.stock, coalesce(sum(l.quantity), 0) as ordered
    from products p
    left join (order_lines l join orders o on o.id = l.order_id and o.status <> 'cancelled')
      on l.product_id = p.id
    group by p.sku, p.stock`.execute(db)
  for (const r of taken.rows) {
    const start = stockAtStart[r.sku]
    if (start !== undefined && start - r.stock !== Number(r.ordered))
      broken.push(`${r.sku}: ${start - r.stock} units left stock but ${r.ordered} were ordered`)
  }

  const totals = await sql<{ order_number: string; total: string; lines: string; n: string }>`
    select o.order_number, o.total_cents as total, count(l.order_id) as n,
           coalesce(sum(l.quantity::bigint * l.unit_price_cents), 0) as lines
    from orders o left join order_lines l on l.order_id = o.id
    group by o.id
    having count(l.order_id) = 0 or o.total_cents <> coalesce(sum(l.quantity::bigint * l.unit_price_cents), 0)
  `.execute(db)
  for (const r of totals.rows) {
    broken.push(
      Number(r.n) === 0
        ? `order ${r.order_number} has no lines`
        : `order ${r.order_number} totals ${r.total} but its lines sum to ${r.lines}`,
    )
  }

  if (fold) {
    // Until the queue is empty: a fold finds nothing to do while a running service's own
    // folder holds the fold lock, and the sales that folder took are queued until it commits.
    for (let i = 0; i < 1000; i++) {
      if ((await foldSales(db)) > 0) continue
      const left = await sql<{ n: string }>`select count(*) as n from ${queuedSales}`.execute(db)
      if (num(left.rows[0]?.n) === 0) break
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    broken.push(...(await aggregateMismatches(db)))
  }
  return broken
}

type Row = Record<string, unknown>
const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v))

/**
 * The aggregates against GROUP BYs over the lines of orders not cancelled (a cancel queues
 * negative sales that take its order out), column by column for the columns that exist.
 */
export async function aggregateMismatches(db: Kysely<Database>): Promise<string[]> {
  const queued = await sql<{ n: string }>`select count(*) as n from ${queuedSales}`.execute(db)
  const broken: string[] = []
  if (num(queued.rows[0]?.n) > 0) broken.push(`${queued.rows[0]?.n} sales still queued`)
  const truthByProduct = await sql<Row>`
    select o.state, l.product_id, sum(l.quantity) as units, count(*) as orders,
           sum(l.quantity::bigint * l.unit_price_cents) as revenue_cents
    from order_lines l join orders o on o.id = l.order_id
    where o.status <> 'cancelled'
    group by o.state, l.product_id`.execute(db)
  const truthByState = await sql<Row>`
    select o.state, sum(l.quantity) as units, count(distinct o.id) as orders,
           sum(l.quantity::bigint * l.unit_price_cents) as revenue_cents
    from order_lines l join orders o on o.id = l.order_id
    where o.status <> 'cancelled'
    group by o.state`.execute(db)
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = current_schema() and table_name in ('state_product_sales', 'state_sales')
  `.execute(db)
  const compare = async (table: string, truth: Row[], key: (r: Row) => string) => {
    if (!tables.rows.some((t) => t.table_name === table)) return
    const { rows } = await sql<Row>`select * from ${sql.table(table)}`.execute(db)
    const have = new Map(rows.map((r) => [key(r), r]))
    const want = new Map(truth.map((r) => [key(r), r]))
    for (const k of new Set([...have.keys(), ...want.keys()])) {
      const h = have.get(k)
      const w = want.get(k)
      for (const column of ['units', 'orders', 'revenue_cents']) {
        if (h && !(column in h)) continue
        if (num(h?.[column]) !== num(w?.[column]))
          broken.push(
            `${table} ${k} ${column}: ${num(h?.[column])}, GROUP BY says ${num(w?.[column])}`,
          )
      }
    }
  }
  await compare('state_product_sales', truthByProduct.rows, (r) => `${r.state}:${r.product_id}`)
  await compare('state_sales', truthByState.rows, (r) => String(r.state))
  return broken
}

/** Every order with its lines, as stored: to prove later that nothing stored was changed. */
export async function storedOrders(db: Kysely<Database>) {
  const { rows } = await sql<Row>`
    select o.*, (select json_agg(l order by l.product_id) from order_lines l where l.order_id = o.id) as lines
    from orders o order by o.id`.execute(db)
  return rows.map((r) =>
    JSON.parse(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v))),
  )
}

export const securityHeaders = {
  'content-security-policy': /default-src 'self'/,
  'x-content-type-options': /^nosniff$/,
  'x-frame-options': /^(DENY|SAMEORIGIN)$/,
  'strict-transport-security': /max-age=\d+/,
  'referrer-policy': /./,
  'cross-origin-opener-policy': /./,
  'cross-origin-resource-policy': /./,
} as const

/** Which security headers a response lacks (or has wrong), and any that should not be there. */
export function missingSecurityHeaders(headers: Record<string, unknown>): string[] {
  const missing: string[] = []
  for (const [name, pattern] of Object.entries(securityHeaders)) {
    const value = headers[name]
    if (typeof value !== 'string' || !pattern.test(value)) missing.push(name)
  }
  if (headers['x-powered-by'] !== undefined) missing.push('x-powered-by (present)')
  return missing
}

/**
 * A TCP proxy in front of PostgreSQL that a test can break, as networks and servers break:
 * `cut()` resets every open connection and refuses new ones (the server went away or is
 * restarting), `drop()` resets the open connections only (cut mid-query), `stall()` passes
 * nothing either way on old or new connections, without closing them (a partition: packets
 * vanish, nobody is told), and `restore()` heals it all (stalled bytes then flow on, as TCP
 * would retransmit them).
 */
export async function faultyProxy(target: { host: string; port: number }) {
  let mode: 'pass' | 'refuse' | 'stall' = 'pass'
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    if (mode === 'refuse') return client.destroy()
    const upstream = net.connect(target)
    const pair = [client, upstream]
    for (const s of pair) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        for (const other of pair) other.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
    // After pipe(), which resumes a paused source: a connection opened during a stall stalls too.
    if (mode === 'stall') for (const s of pair) s.pause()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  const destroyAll = () => {
    for (const s of sockets) s.destroy()
  }
  return {
    port,
    /** Connections the proxy holds open now (both ends counted). */
    get open() {
      return sockets.size
    },
    cut() {
      mode = 'refuse'
      destroyAll()
    },
    drop() {
      destroyAll()
    },
    stall() {
      mode = 'stall'
      for (const s of sockets) s.pause()
    },
    restore() {
      mode = 'pass'
      for (const s of sockets) s.resume()
    },
    close: () =>
      new Promise<void>((resolve) => {
        destroyAll()
        server.close(() => resolve())
      }),
  }
}

/**
 * Shopper `i`, shipped to `state` (by default one of seven states in turn), to a city and ZIP
 * code of it.
 */
export const orderCustomer = (
  i: number,
  state = ['CA', 'TX', 'NY', 'FL', 'WA', 'IL', 'OR'][i % 7] as string,
) => {
  const { code, city, zip } = stateAddress(state)
  return {
    name: `Reliable Shopper ${i}`,
    email: `shopper${i}@example.com`,
    address: `${i} Durable Road`,
    city,
    state: code,
    zip,
  }
}

export const skus = ['MUG-001', 'TEE-002', 'CAP-003', 'BTL-005', 'NTB-009', 'SCK-010', 'CHR-014']

/** A varied, valid API order body: one or two lines. */
export function apiOrder(i: number) {
  const items = [{ sku: skus[i % skus.length] as string, quantity: 1 + (i % 3) }]
  if (i % 4 === 0) items.push({ sku: 'LMP-006', quantity: 1 })
  return { items, customer: orderCustomer(i) }
}

/**
 * A valid order form as a browser posts it: a quantity field for each product (`qty-<SKU>`, 0
 * for those not chosen), one to three products chosen.
 */
export function formOrder(i: number, idempotencyKey: string = randomUUID()) {
  const { customer } = apiOrder(i)
  const quantities = formQuantities(i)
  return new URLSearchParams({
    ...Object.fromEntries(skus.map((sku) => [`qty-${sku}`, String(quantities[sku] ?? 0)])),
    ...customer,
    idempotencyKey,
  }).toString()
}

/** The products formOrder(i) chooses and their quantities. */
export function formQuantities(i: number): Record<string, number> {
  const chosen: Record<string, number> = { [skus[(i + 3) % skus.length] as string]: 1 + (i % 4) }
  if (i % 3 === 0) chosen[skus[(i + 5) % skus.length] as string] = 1
  if (i % 6 === 0) chosen[skus[(i + 6) % skus.length] as string] = 2
  return chosen
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
