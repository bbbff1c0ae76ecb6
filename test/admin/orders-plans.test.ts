import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { beginCsvExport, copyQuery } from '../../src/admin/csv-copy.ts'
import type { ListKey } from '../../src/admin/cursor.ts'
import type { OrderFilters } from '../../src/admin/filters.ts'
import { selectOrderList } from '../../src/admin/queries.ts'
import { sessionOptions } from '../../src/db/connect.ts'
import { buildTestApp, type TestApp, usingPostgres } from '../helpers/context.ts'
import { insertOrders, seededNumber } from './seed.ts'

const count = 200_000
const start = new Date('2025-12-01T00:00:00Z')
// One order every 157.68 s: 200,000 orders over a year.
const stepMs = Math.round((365 * 86_400_000) / count)
/** A key in the middle of the table: a deep page. */
const middle: ListKey = {
  createdAt: new Date(start.getTime() + (count / 2) * stepMs).toISOString().replace('Z', '000Z'),
  id: String(count / 2),
}

/** Each filter alone (and a deep page of some), with the index its page must be a range scan of. */
const cases: {
  name: string
  filters: OrderFilters
  after?: ListKey
  /** The page's "Previous page": the same index, read backwards. */
  before?: ListKey
  index: string
}[] = [
  { name: 'none (first page)', filters: {}, index: 'orders_created' },
  { name: 'none (deep cursor)', filters: {}, after: middle, index: 'orders_created' },
  { name: 'status', filters: { status: 'shipped' }, index: 'orders_status_created' },
  {
    name: 'status (deep cursor)',
    filters: { status: 'placed' },
    after: middle,
    index: 'orders_status_created',
  },
  { name: 'state', filters: { state: 'WA' }, index: 'orders_state_created' },
  {
    name: 'state (deep cursor)',
    filters: { state: 'TX' },
    after: middle,
    index: 'orders_state_created',
  },
  {
    name: 'date range',
    filters: { createdFrom: '2026-03-01T00:00:00.000Z', createdBefore: '2026-04-01T00:00:00.000Z' },
    index: 'orders_created',
  },
  {
    name: 'e-mail',
    filters: { email: `c${count / 2}-0@example.com` },
    index: 'orders_email_lower_created',
  },
  {
    name: 'e-mail in another case',
    filters: { email: `C${count / 2}-0@EXAMPLE.com` },
    index: 'orders_email_lower_created',
  },
  { name: 'none (previous page)', filters: {}, before: middle, index: 'orders_created' },
  {
    name: 'status (previous page)',
    filters: { status: 'placed' },
    before: middle,
    index: 'orders_status_created',
  },
  {
    name: 'state (previous page)',
    filters: { state: 'TX' },
    before: middle,
    index: 'orders_state_created',
  },
  {
    name: 'date range (previous page)',
    filters: { createdFrom: '2026-03-01T00:00:00.000Z', createdBefore: '2026-09-01T00:00:00.000Z' },
    before: middle,
    index: 'orders_created',
  },
  {
    name: 'order number',
    filters: { orderNumber: seededNumber(Math.floor(count / 3)) },
    index: 'orders_order_number_key',
  },
]

interface PlanNode {
  'Node Type': string
  'Index Name'?: string
  'Scan Direction'?: string
  'Index Cond'?: string
  Filter?: string
  'Actual Rows'?: number
  Plans?: PlanNode[]
}
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)]

// 200k orders take a PostgreSQL server (COPY-speed generate_series); PGlite in memory is not
// the database these plans are for.
describe.skipIf(!usingPostgres)(`the order list's plans at ${count} orders (PostgreSQL)`, () => {
  let t: TestApp
  const sessions: Record<string, pg.Client> = {}
  beforeAll(async () => {
    // Filling the table takes longer than the service's statement timeout.
    t = await buildTestApp({ DATABASE_STATEMENT_TIMEOUT_MS: '0' })
    await insertOrders(t.app.db, count, { start, stepMs })
    await sql`analyze orders`.execute(t.app.db)
    // A session with the server's defaults (sequential scans allowed), and one as the service
    // opens them (src/db/connect.ts: enable_seqscan=off, UTC, ...).
    sessions.default = new pg.Client({ connectionString: t.config.DATABASE_URL })
    sessions.service = new pg.Client({
      connectionString: t.config.DATABASE_URL,
      options: sessionOptions(),
    })
    for (const c of Object.values(sessions)) await c.connect()
  }, 240_000)
  afterAll(async () => {
    for (const c of Object.values(sessions)) await c.end()
    await t?.close()
  })

  const summary: string[] = []
  afterAll(() => {
    // The record for docs/benchmarks.md.
    if (summary.length > 0) console.log(summary.join('\n'))
  })

  for (const session of ['default', 'service']) {
    for (const c of cases) {
      it(`${c.name}: a range scan of ${c.index}, no sort, in the ${session} session`, async () => {
        const { sql: text, parameters } = selectOrderList(
          t.app.db,
          c.filters,
          c.after,
          51,
          c.before,
        ).compile()
        const client = sessions[session] as pg.Client
        const { rows } = await client.query(`explain (analyze, format json) ${text}`, [
          ...parameters,
        ])
        const top = rows[0]['QUERY PLAN'][0] as { Plan: PlanNode; 'Execution Time': number }
        const all = nodes(top.Plan)
        const types = all.map((n) => n['Node Type'])
        expect(types, JSON.stringify(top.Plan)).not.toContain('Seq Scan')
        // The unique order number finds at most one row: sorting it costs nothing.
        if (!c.filters.orderNumber) expect(types).not.toContain('Sort')
        expect(types).not.toContain('Bitmap Heap Scan')
        const scan = all.find((n) => n['Index Name'] === c.index)
        expect(scan?.['Node Type'], JSON.stringify(top.Plan)).toBe('Index Scan')
        expect(scan?.['Scan Direction']).toBe(c.before ? 'Backward' : 'Forward')
        // Every filter and cursor is an index condition (a range), none a filter on the rows
        // read; only the first page of the whole list has no condition: it reads the index's
        // first 51 entries.
        const unfiltered = Object.keys(c.filters).length === 0 && !c.after && !c.before
        expect(scan?.Filter, 'no row filtered after reading').toBeUndefined()
        if (!unfiltered) expect(scan?.['Index Cond'] ?? '').not.toBe('')
        expect(top.Plan['Actual Rows']).toBeLessThanOrEqual(51)
        summary.push(
          `| ${c.name} | ${session} | ${scan?.['Node Type']} (${scan?.['Scan Direction']}) using ${c.index} | ${scan?.['Index Cond']} | ${top.Plan['Actual Rows']} | ${top['Execution Time'].toFixed(3)} ms |`,
        )
      })
    }
  }

  // The CSV export on PostgreSQL copies the same query without its limit (csv-copy.ts), in its
  // own transaction: a plan that sorted the matches would read all of them before the first byte
  // went out, and one that filtered another index's rows would read far more than it sends.
  for (const c of cases.filter((c) => !c.after && !c.before)) {
    it(`the CSV export's COPY query, ${c.name}: an ordered scan of ${c.index}, no sort`, async () => {
      const client = sessions.service as pg.Client
      await client.query(beginCsvExport)
      try {
        const { rows } = await client.query(
          `explain (format json) ${copyQuery(t.app.db, c.filters)}`,
        )
        const plan = rows[0]['QUERY PLAN'][0].Plan as PlanNode
        const all = nodes(plan)
        const types = all.map((n) => n['Node Type'])
        expect(types, JSON.stringify(plan)).not.toContain('Seq Scan')
        if (!c.filters.orderNumber) expect(types, JSON.stringify(plan)).not.toContain('Sort')
        expect(types).not.toContain('Bitmap Heap Scan')
        const scan = all.find((n) => n['Index Name'] === c.index)
        expect(scan?.['Node Type'], JSON.stringify(plan)).toBe('Index Scan')
        expect(scan?.Filter, 'no row filtered after reading').toBeUndefined()
      } finally {
        await client.query('commit')
      }
    })
  }
})
