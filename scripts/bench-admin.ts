import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type Kysely, sql } from 'kysely'
import pg from 'pg'
import { beginCsvExport, copyQuery } from '../src/admin/csv-copy.ts'
import { encodeCursor, type ListKey } from '../src/admin/cursor.ts'
import { type ListQuery, parseListQuery } from '../src/admin/filters.ts'
import { pageSize, selectOrderList } from '../src/admin/queries.ts'
import { connect, sessionOptions } from '../src/db/connect.ts'
import type { Database } from '../src/db/schema.ts'
import { serviceNodeFlags } from '../test/bench/common.ts'

/**
 * The back office's order list and CSV export at scale, through the real service:
 *
 *   DATABASE_URL=postgres://…/backoffice_10m npm run bench:admin -- [--requests 500]
 *     [--warmup 50] [--port 3310] [--csv-days 36] [--csv-runs 2] [--out file.json]
 *     [--csv-only] [--csv-encoding identity]
 *
 * Load the database first (`npm run seed:orders`, then ANALYZE). The script adds a staff
 * account with `npm run staff` (add, token), starts `src/server.ts` as `npm start` does
 * (NODE_ENV=production, the same heap flags) on `--port`, and then, for each case of
 * `GET /api/admin/orders` (no filter, each filter alone; the first page and a page deep in the
 * filter's rows, its cursor made from the row halfway down them):
 * - `--requests` requests one after another (after `--warmup`), timed in this process
 *   (request sent to body read), p50/p99/max;
 * - `EXPLAIN (ANALYZE, BUFFERS)` of the statement the route runs (selectOrderList, 51 rows), in
 *   a session with the service's settings (sessionOptions), prepared and executed 6 times first
 *   as the service's named statements are, so the plan shown is the one it keeps; the case
 *   fails unless the plan is an index scan with an index condition, no Seq Scan and no Sort.
 * Then it signs in and downloads `GET /admin/orders.csv` for a range of `--csv-days` days
 * (about 1M rows at 10M orders over a year), counting lines as they stream: rows/s, and the
 * server's VmRSS sampled every 20 ms from /proc (peak) and VmHWM (peak since start), and the CPU
 * time per row of the server, of PostgreSQL (databaseCpuMs: its backends and parallel workers
 * for the database) and of this client, from /proc and process.cpuUsage: costs that the
 * machine's load does not inflate, unlike rows/s. Before that it prints the plan of the
 * export's COPY query (a Seq Scan or a Sort is a miss).
 * `--csv-encoding` is the download's Accept-Encoding: `identity` (the default) measures the
 * export itself; `br` or `gzip` adds the server's compression (plugins/compression.ts), which
 * fetch undoes here. `--csv-only` skips the list cases.
 * Exits 1 when a case misses its plan or the targets (p99 < 20 ms; CSV ≥ 100k rows/s, RSS
 * < 250 MB), after printing everything.
 */

const root = fileURLToPath(new URL('..', import.meta.url))
const targets = { p99Ms: 20, csvRowsPerSecond: 100_000, rssMb: 250 }

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0
}

async function freePort(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** Runs `npm run staff -- …` (src/staff/cli.ts) and returns its stdout; throws on failure. */
function staffCli(args: string[], env: Record<string, string>): string {
  const run = spawnSync(process.execPath, ['src/staff/cli.ts', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  })
  if (run.status !== 0) throw new Error(`staff ${args[0]}: ${run.stderr.trim()}`)
  return run.stdout.trim()
}

/** CPU time (user + system) a process has used, in ms (Linux /proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** cpuMsOf, or 0 for a process that is gone (a parallel worker that just ended). */
function cpuMsOrZero(pid: number): number {
  try {
    return cpuMsOf(pid)
  } catch {
    return 0
  }
}

/**
 * PostgreSQL's CPU time spent for this database while `run` runs, in ms, from /proc (so the
 * server must be on this machine): the client backends of the database (but `client`'s own)
 * before and after, plus each parallel worker that showed up meanwhile, polled every 20 ms (a
 * worker that ends between two polls loses at most its last 20 ms: a lower bound).
 */
async function databaseCpuMs<T>(client: pg.Client, run: () => Promise<T>): Promise<[T, number]> {
  const pids = async (type: string) =>
    (
      await client.query<{ pid: number }>(
        `select pid from pg_stat_activity
          where datname = current_database() and backend_type = $1 and pid <> pg_backend_pid()`,
        [type],
      )
    ).rows.map((r) => r.pid)
  const backends = new Map((await pids('client backend')).map((p) => [p, cpuMsOrZero(p)]))
  const workers = new Map<number, number>()
  let polling = true
  const poll = (async () => {
    while (polling) {
      for (const p of await pids('client backend')) if (!backends.has(p)) backends.set(p, 0)
      for (const p of await pids('parallel worker')) workers.set(p, cpuMsOrZero(p))
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  try {
    const result = await run()
    let total = 0
    for (const [p, before] of backends) total += Math.max(0, cpuMsOrZero(p) - before)
    for (const [p, last] of workers) total += Math.max(last, cpuMsOrZero(p))
    return [result, total]
  } finally {
    polling = false
    await poll
  }
}

/** VmRSS and VmHWM of a process, in MB (Linux /proc). */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0)
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 }
}

interface Case {
  name: string
  query: ListQuery
  /** A cursor for the row halfway down the filter's rows: the deep page. */
  deep: boolean
}

interface Plan {
  ok: boolean
  node: string
  index: string
  cond: string
  executionMs: number
  buffers: string
  text: string
  problems: string[]
}

/**
 * The plan PostgreSQL keeps for the route's statement in a service session: PREPAREd and run
 * 6 times (from the sixth run on, a generic plan may replace the custom ones), then EXPLAINed.
 */
async function explain(
  client: pg.Client,
  db: Kysely<Database>,
  query: ListQuery,
  limit = pageSize + 1,
): Promise<Plan> {
  const parsed = parseListQuery(query)
  if (!parsed.ok) throw new Error(parsed.message)
  const compiled = selectOrderList(db, parsed.filters, parsed.after, limit).compile()
  const literal = (v: unknown): string => {
    if (Array.isArray(v)) return client.escapeLiteral(`{${v.map((x) => JSON.stringify(x))}}`)
    if (typeof v === 'number') return String(v)
    return client.escapeLiteral(String(v))
  }
  const args = compiled.parameters.map(literal).join(', ')
  await client.query('deallocate all')
  await client.query(`prepare bench_list as ${compiled.sql}`)
  for (let i = 0; i < 6; i++) await client.query(`execute bench_list(${args})`)
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(
    `explain (analyze, buffers) execute bench_list(${args})`,
  )
  const text = rows.map((r) => r['QUERY PLAN']).join('\n')
  const scan = /(Index(?: Only)? Scan(?: Backward)?) using (\w+)/.exec(text)
  const problems: string[] = []
  if (/Seq Scan/.test(text)) problems.push('Seq Scan')
  // A sort is a miss, except above the unique order number's index: at most one row to sort.
  const sorted = /(^|\s)(Incremental )?Sort\b/m.test(text)
  if (sorted && scan?.[2] !== 'orders_order_number_key') problems.push('Sort')
  if (!scan) problems.push('no index scan')
  const cond = /Index Cond: (.*)/.exec(text)?.[1] ?? ''
  // The first page unfiltered reads the index from its start: no condition to have.
  const filtered = Object.keys(parsed.filters).length > 0 || parsed.after !== undefined
  if (filtered && !cond) problems.push('no index condition')
  const top = text.split('\n')[0] ?? ''
  const nodes = text
    .split('\n')
    .filter((l) => /^\s*(->\s*)?[A-Z][A-Za-z ]+( {2}\(| on | using )/.test(l))
    .map((l) => /^\s*(?:->\s*)?([A-Z][A-Za-z ]+?)(?: {2}\(| on | using )/.exec(l)?.[1])
  return {
    ok: problems.length === 0,
    node: nodes.join(' > ') || top,
    index: scan?.[2] ?? '?',
    cond,
    executionMs: Number(/Execution Time: ([\d.]+) ms/.exec(text)?.[1] ?? Number.NaN),
    buffers: /Buffers: (.*)/.exec(text)?.[1] ?? '',
    text,
    problems,
  }
}

/** The key of the row halfway down the rows `query` selects, and how many it selects. */
async function middleKey(
  db: Kysely<Database>,
  query: ListQuery,
): Promise<{ key: ListKey | undefined; rows: number }> {
  const parsed = parseListQuery(query)
  if (!parsed.ok) throw new Error(parsed.message)
  const base = selectOrderList(db, parsed.filters, undefined, 1).clearSelect()
  const { n } = await base
    .clearOrderBy()
    .clearLimit()
    .select(sql<string>`count(*)`.as('n'))
    .executeTakeFirstOrThrow()
  const rows = Number(n)
  const row = await base
    .select([
      'o.id',
      sql<string>`to_char(o.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
        'created_key',
      ),
    ])
    .offset(Math.floor(rows / 2))
    .executeTakeFirst()
  return { key: row ? { createdAt: row.created_key, id: String(row.id) } : undefined, rows }
}

async function waitReady(base: string, server: ChildProcess) {
  const until = Date.now() + 60_000
  while (Date.now() < until) {
    if (server.exitCode !== null) throw new Error(`the server exited (${server.exitCode})`)
    try {
      if ((await fetch(`${base}/readyz`)).ok) return
    } catch {}
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error('the server was not ready within 60 s')
}

async function signIn(base: string, email: string, password: string): Promise<string> {
  const form = await fetch(`${base}/admin/login`)
  const loginCookie = (form.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? ''
  const answer = await fetch(`${base}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie },
    body: new URLSearchParams({ _csrf: csrf, email, password }).toString(),
  })
  const session = answer.headers
    .getSetCookie()
    .map((c) => c.split(';')[0] ?? '')
    .find((c) => c.includes('staff_session='))
  if (answer.status !== 303 || !session) throw new Error(`sign-in answered ${answer.status}`)
  return session
}

async function main() {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '500' },
      warmup: { type: 'string', default: '50' },
      port: { type: 'string', default: '3310' },
      'csv-days': { type: 'string', default: '36' },
      'csv-runs': { type: 'string', default: '2' },
      'csv-only': { type: 'boolean', default: false },
      'csv-encoding': { type: 'string', default: 'identity' },
      out: { type: 'string' },
    },
  })
  const databaseUrl = process.env.DATABASE_URL
  if (!databaseUrl || !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    console.error('bench:admin needs DATABASE_URL set to a PostgreSQL database (postgres://...).')
    process.exit(2)
  }
  const requests = Number(values.requests)
  const warmup = Number(values.warmup)
  const port = Number(values.port)
  if (port === 3300 || port === 3301 || !(await freePort(port))) {
    console.error(`Port ${port} is taken (or reserved for npm run bench): pass --port.`)
    process.exit(2)
  }

  const db = connect({ databaseUrl, dataDir: 'unused', poolSize: 2 })
  const client = new pg.Client({ connectionString: databaseUrl, options: sessionOptions() })
  await client.connect()

  // Filter values that exist: the e-mail and order number of the row halfway down the list.
  const middle = await middleKey(db, {})
  const sample = await db
    .selectFrom('orders')
    .select(['email', 'order_number'])
    .where(sql<boolean>`id = ${middle.key?.id ?? '0'}::bigint`)
    .executeTakeFirstOrThrow()
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)
  const month = { from: day(Date.now() - 200 * 86_400_000), to: day(Date.now() - 171 * 86_400_000) }
  const csvDays = Number(values['csv-days'])
  const csvRange = {
    from: day(Date.now() - (120 + csvDays - 1) * 86_400_000),
    to: day(Date.now() - 120 * 86_400_000),
  }
  const filters: [string, ListQuery][] = [
    ['none', {}],
    ['status=placed (rarest)', { status: 'placed' }],
    ['status=delivered (most)', { status: 'delivered' }],
    ['state=CA (largest)', { state: 'CA' }],
    ['state=WY (smallest)', { state: 'WY' }],
    [`from=${month.from}&to=${month.to}`, month],
    ['q=<e-mail>', { q: sample.email }],
    ['q=<order number>', { q: sample.order_number }],
  ]
  const cases: Case[] = filters.flatMap(([name, query]) => [
    { name, query, deep: false },
    { name, query, deep: true },
  ])

  // A staff account and its API token, made with the staff command as ops would.
  const email = `bench-${Date.now()}@example.com`
  const password = randomBytes(18).toString('base64url')
  staffCli(['add', email, '--role', 'staff'], {
    DATABASE_URL: databaseUrl,
    STAFF_PASSWORD: password,
  })
  const token = staffCli(['token', email], { DATABASE_URL: databaseUrl })

  const logPath = `/tmp/bench-admin-server-${port}.log`
  const log = createWriteStream(logPath)
  const server = spawn(process.execPath, [...serviceNodeFlags(root), 'src/server.ts'], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  server.stdout?.pipe(log)
  server.stderr?.pipe(log)
  const base = `http://127.0.0.1:${port}`
  const results: Record<string, unknown>[] = []
  let failed = false
  try {
    await waitReady(base, server)
    const pid = server.pid as number
    console.info(`server pid ${pid} on ${base}, log ${logPath}; ${requests} requests per case`)
    console.info(
      '| case | page | rows matched | p50 ms | p99 ms | max ms | server CPU ms/request | plan (top > scan) | index | index condition | EXPLAIN ms | buffers |',
    )
    console.info('|---|---|---:|---:|---:|---:|---:|---|---|---|---:|---|')
    for (const c of values['csv-only'] ? [] : cases) {
      const { key, rows } = await middleKey(db, c.query)
      const query: ListQuery = { ...c.query }
      if (c.deep) {
        if (!key) continue
        query.cursor = encodeCursor(key)
      }
      const params = new URLSearchParams(
        Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined),
      )
      const url = `${base}/api/admin/orders?${params}`
      const expected = Math.min(pageSize, c.deep ? rows - Math.floor(rows / 2) - 1 : rows)
      const headers = { authorization: `Bearer ${token}` }
      const samples: number[] = []
      let cpuStart = 0
      for (let i = 0; i < warmup + requests; i++) {
        if (i === warmup) cpuStart = cpuMsOf(pid)
        const started = performance.now()
        const answer = await fetch(url, { headers })
        const body = (await answer.json()) as { orders?: unknown[] }
        const ms = performance.now() - started
        if (answer.status !== 200 || body.orders?.length !== expected) {
          throw new Error(
            `${c.name}: ${answer.status}, ${body.orders?.length} orders, expected ${expected}`,
          )
        }
        if (i >= warmup) samples.push(ms)
      }
      const cpuPerRequest = (cpuMsOf(pid) - cpuStart) / requests
      samples.sort((a, b) => a - b)
      const p50 = percentile(samples, 0.5)
      const p99 = percentile(samples, 0.99)
      const max = samples.at(-1) ?? 0
      const plan = await explain(client, db, query)
      const miss = !plan.ok || p99 >= targets.p99Ms
      failed ||= miss
      const page = c.deep ? `deep (row ${Math.floor(rows / 2).toLocaleString('en-US')})` : 'first'
      console.info(
        `| ${c.name} | ${page} | ${rows.toLocaleString('en-US')} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${max.toFixed(2)} | ${cpuPerRequest.toFixed(2)} | ${plan.node} | \`${plan.index}\` | \`${plan.cond.replaceAll('|', '\\|')}\` | ${plan.executionMs} | ${plan.buffers} |${miss ? ` MISS: ${plan.problems.join(', ') || 'p99'}` : ''}`,
      )
      if (!plan.ok) console.info(`\n${plan.text}\n`)
      results.push({ case: c.name, page, rows, p50, p99, max, cpuPerRequest, plan })
    }

    const cookie = await signIn(base, email, password)
    const parsed = parseListQuery(csvRange)
    if (!parsed.ok) throw new Error(parsed.message)
    const { n } = await selectOrderList(db, parsed.filters, undefined, 1)
      .clearSelect()
      .clearOrderBy()
      .clearLimit()
      .select(sql<string>`count(*)`.as('n'))
      .executeTakeFirstOrThrow()
    // The export's statement on PostgreSQL: the COPY's query, planned with the export's
    // settings (csv-copy.ts's copyOrderCsv): an ordered index scan, no Sort, no Seq Scan.
    await client.query(beginCsvExport)
    const copyPlan = (
      await client.query<{ 'QUERY PLAN': string }>(
        `explain (costs off) ${copyQuery(db, parsed.filters)}`,
      )
    ).rows
      .map((r) => r['QUERY PLAN'])
      .filter((l) => !/^\s*(Output|JIT|Functions|Options)/.test(l))
      .join('\n')
    await client.query('commit')
    const copyPlanOk = /Index Scan/.test(copyPlan) && !/Seq Scan|Sort/.test(copyPlan)
    failed ||= !copyPlanOk
    console.info(`CSV COPY's query plan:${copyPlanOk ? '' : ' MISS'}\n${copyPlan}`)
    results.push({ copyPlan })
    const csvUrl = `${base}/admin/orders.csv?${new URLSearchParams(csvRange)}`
    for (let run = 1; run <= Number(values['csv-runs']); run++) {
      const before = memoryOf(pid)
      let peakRss = before.rss
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, memoryOf(pid).rss)
      }, 20)
      const cpuBefore = cpuMsOf(pid)
      const clientBefore = process.cpuUsage()
      const started = performance.now()
      const [{ newlines, bytes, firstByteMs }, pgCpuMs] = await databaseCpuMs(client, async () => {
        const answer = await fetch(csvUrl, {
          headers: { cookie, 'accept-encoding': values['csv-encoding'] },
        })
        if (answer.status !== 200 || !answer.body) throw new Error(`CSV answered ${answer.status}`)
        let newlines = 0
        let bytes = 0
        let firstByteMs = 0
        for await (const chunk of answer.body) {
          if (!firstByteMs) firstByteMs = performance.now() - started
          bytes += chunk.length
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++
        }
        return { newlines, bytes, firstByteMs }
      })
      const seconds = (performance.now() - started) / 1000
      const cpuMs = cpuMsOf(pid) - cpuBefore
      const clientCpu = process.cpuUsage(clientBefore)
      const clientCpuMs = (clientCpu.user + clientCpu.system) / 1000
      clearInterval(sampler)
      const after = memoryOf(pid)
      peakRss = Math.max(peakRss, after.rss)
      const rows = newlines - 1
      const rate = rows / seconds
      const perRow = (ms: number) => ((ms * 1000) / Math.max(1, rows)).toFixed(2)
      const miss = rows !== Number(n) || rate < targets.csvRowsPerSecond || peakRss >= targets.rssMb
      failed ||= miss
      console.info(
        `CSV run ${run} ${csvRange.from}..${csvRange.to}: ${rows.toLocaleString('en-US')} rows (database: ${Number(n).toLocaleString('en-US')}), ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s = ${Math.round(rate).toLocaleString('en-US')} rows/s, first byte ${firstByteMs.toFixed(0)} ms; CPU per row: server (Node) ${perRow(cpuMs)} µs, PostgreSQL ${perRow(pgCpuMs)} µs, this client ${perRow(clientCpuMs)} µs (server ${(cpuMs / 1000).toFixed(1)} s, PostgreSQL ${(pgCpuMs / 1000).toFixed(1)} s); server RSS ${before.rss.toFixed(0)} MB before, peak ${peakRss.toFixed(0)} MB during, VmHWM ${after.hwm.toFixed(0)} MB${miss ? ' MISS' : ''}`,
      )
      results.push({
        csv: run,
        range: csvRange,
        rows,
        seconds,
        rate,
        bytes,
        cpuMs: { server: cpuMs, postgres: pgCpuMs, client: clientCpuMs },
        before,
        peakRss,
        after,
      })
    }
  } finally {
    server.kill('SIGTERM')
    await new Promise((r) => server.once('exit', r))
    await client.end()
    await db.destroy()
  }
  if (values.out) writeFileSync(values.out, JSON.stringify(results, null, 2))
  if (failed) {
    console.error('Some cases missed their plan or target (marked MISS).')
    process.exitCode = 1
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err)
  process.exit(1)
})
