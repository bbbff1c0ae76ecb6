import type { Kysely } from 'kysely'
import type pg from 'pg'
import { poolOf } from '../db/connect.ts'
import type { Database } from '../db/schema.ts'
import { customerFields } from '../orders/customer.ts'
import { copyOrderCsv } from './csv-copy.ts'
import type { ListKey } from './cursor.ts'
import type { OrderFilters } from './filters.ts'
import { createdAtOf, keyOf, type ListRow, listOrderRows } from './queries.ts'

/**
 * Cells a spreadsheet would read as a formula (OWASP, CSV Injection): starting with `=`, `+`,
 * `-`, `@`, a tab or a carriage return (as character codes: this runs for every cell).
 */
const formulaStart = new Set(['=', '+', '-', '@', '\t', '\r'].map((c) => c.charCodeAt(0)))

/**
 * One cell per RFC 4180 §2: always quoted, quotes doubled, so commas, quotes and line breaks
 * stay inside it. A value a spreadsheet would run as a formula gets a leading `'` first (OWASP),
 * which spreadsheets show as text and do not evaluate.
 */
export function csvCell(value: string): string {
  const safe = formulaStart.has(value.charCodeAt(0)) ? `'${value}` : value
  return `"${safe.includes('"') ? safe.replaceAll('"', '""') : safe}"`
}

/** One record: cells joined by commas, ended by CRLF (RFC 4180 §2). */
export function csvRecord(cells: readonly string[]): string {
  let line = ''
  for (let i = 0; i < cells.length; i++) line += `${i ? ',' : ''}${csvCell(cells[i] as string)}`
  return `${line}\r\n`
}

/** Integer cents as dollars with two decimals, exactly (no float): 123456 → `1234.56`. */
function dollars(cents: number): string {
  const abs = Math.abs(cents)
  return `${cents < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

const header = [
  'Order number',
  'Placed (UTC)',
  'Status',
  ...customerFields.map((f) => f.label),
  'Total (USD)',
  'Carrier',
  'Tracking number',
]

/**
 * A row's cells, in the header's order, with the values toSummary gives the list (createdAt,
 * the customer's fields), read straight from the row: no summary object per order.
 */
function cellsOf(row: ListRow): string[] {
  const cells = [row.order_number, createdAtOf(row), row.status]
  for (const f of customerFields) cells.push(row[f.column])
  cells.push(dollars(Number(row.total_cents)), row.carrier ?? '', row.tracking_number ?? '')
  return cells
}

/** Rows per statement of the export. */
export const csvBatchSize = 2000

/**
 * The order list under `filters` as CSV text, newest first: a UTF-8 byte order mark (so that
 * Excel reads the names right) and the header, then one chunk per keyset batch of `batchSize`
 * orders. Lazy: a batch is read when the consumer asks for the next chunk (a Node stream asks
 * as the socket drains), so memory holds one batch whatever the number of orders, and no
 * connection is held between batches. Batches are separate statements: an order that changes
 * status meanwhile is written as it was when its batch was read, and none is written twice.
 */
export async function* orderCsv(
  db: Kysely<Database>,
  filters: OrderFilters,
  batchSize = csvBatchSize,
): AsyncGenerator<string> {
  yield `\uFEFF${csvRecord(header)}`
  let after: ListKey | undefined
  for (;;) {
    const rows = await listOrderRows(db, filters, after, batchSize)
    const last = rows.at(-1)
    if (!last) return
    yield rows.map((row) => csvRecord(cellsOf(row))).join('')
    if (rows.length < batchSize) return
    after = keyOf(last)
  }
}

/**
 * `chunks` with its first `count` chunks read now: awaits them (rejecting with whatever the
 * generator throws meanwhile, e.g. the first statement's database error) and returns an
 * iterator that yields them, then the rest as `chunks` makes them. Its `return()` ends `chunks`
 * too, even before the first read: a wrapping generator would not (an async generator returned
 * before it starts runs nothing), and `chunks` would keep its COPY and its pool connection for
 * ever when the client went away before the first byte (15 such downloads left 9 connections
 * stuck, the pool's whole size, and every order waiting for one).
 */
export async function startedEarly<T>(
  chunks: AsyncGenerator<T>,
  count: number,
): Promise<AsyncIterableIterator<T>> {
  const read: T[] = []
  let done = false
  while (read.length < count && !done) {
    const next = await chunks.next()
    if (next.done) done = true
    else read.push(next.value)
  }
  const ended = { done: true, value: undefined } as const
  const rest: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]: () => rest,
    async next(): Promise<IteratorResult<T>> {
      if (read.length > 0) return { done: false, value: read.shift() as T }
      return done ? ended : chunks.next()
    },
    async return(): Promise<IteratorResult<T>> {
      read.length = 0
      done = true
      await chunks.return(undefined)
      return ended
    },
  }
  return rest
}

/**
 * Exports running on a PostgreSQL server, by pool. Each holds one of the pool's connections for as
 * long as its client reads (up to csvStatementTimeoutMs): without a cap, as many slow downloads as
 * the pool has connections left no connection to place an order on (every order a 503).
 */
const exporting = new WeakMap<pg.Pool, number>()

/** How many exports may hold a connection of `pool` at once: half its size, at least one. */
export const exportSlots = (pool: pg.Pool): number =>
  Math.max(1, Math.floor((pool.options.max ?? 10) / 2))

/** Refused because every export slot of this process is taken (exportSlots); try again later. */
export class ExportsBusy extends Error {
  readonly slots: number
  constructor(slots: number) {
    super(
      `${slots === 1 ? 'A CSV export is' : `${slots} CSV exports are`} already being downloaded from this server, the most it runs at once so that orders keep their database connections. Please try again when a download has finished.`,
    )
    this.slots = slots
  }
}

/**
 * The export the route sends, chosen by the database in this one place: on a PostgreSQL
 * server, the records made by PostgreSQL through COPY (csv-copy.ts), after the BOM and header
 * made here; on PGlite (no COPY TO STDOUT stream there), orderCsv's keyset batches formatted in
 * Node. Either way the header and the first chunk of records (or the end) are read before this
 * resolves, so a database that fails at once rejects here, before any byte is sent.
 * @throws ExportsBusy on a PostgreSQL server when exportSlots exports are running already; the
 *   slot taken is given back when the returned iterator ends, fails or is returned.
 */
export async function exportOrderCsv(
  db: Kysely<Database>,
  filters: OrderFilters,
): Promise<AsyncIterableIterator<string | Buffer>> {
  const pool = poolOf(db)
  if (!pool) return startedEarly<string | Buffer>(orderCsv(db, filters), 2)
  const running = exporting.get(pool) ?? 0
  const slots = exportSlots(pool)
  if (running >= slots) throw new ExportsBusy(slots)
  exporting.set(pool, running + 1)
  let held = true
  const release = () => {
    if (held) exporting.set(pool, (exporting.get(pool) ?? 1) - 1)
    held = false
  }
  try {
    const records = await copyOrderCsv(pool, db, filters)
    return await startedEarly<string | Buffer>(
      (async function* () {
        try {
          yield `\uFEFF${csvRecord(header)}`
          // Ending early (the client went away) destroys `records`, which closes its connection.
          yield* records
        } finally {
          release()
        }
      })(),
      2,
    )
  } catch (error) {
    release()
    throw error
  }
}
