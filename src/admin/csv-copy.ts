import { pipeline, Transform, type TransformCallback } from 'node:stream'
import { type Kysely, type RawBuilder, sql } from 'kysely'
import pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'
import type { Database } from '../db/schema.ts'
import { customerFields } from '../orders/customer.ts'
import type { OrderFilters } from './filters.ts'
import { selectOrderList } from './queries.ts'

/**
 * The order CSV made by PostgreSQL (the export on a PostgreSQL server; csv.ts's orderCsv is the
 * one on PGlite): one `COPY (select …) TO STDOUT (FORMAT csv, FORCE_QUOTE *)` of the list's query
 * (selectOrderList: the same filters and order) with one column per CSV cell. PostgreSQL's own
 * CSV writer quotes every field and doubles its quotes (csv.ts's csvCell does the same); the SQL
 * only adds the formula prefix and formats the time and the money. Node then changes each record's
 * LF end into CRLF (CopyCsvCrlf), the one thing COPY cannot write: RFC 4180 ends records with
 * CRLF, as csv.ts and the tests do, and COPY ends them with LF whatever the platform.
 *
 * Why not one column holding the whole record, built in SQL (COPY's binary format, as before):
 * twelve `replace`/`case` and some forty concatenations a row cost PostgreSQL 4.0 µs of CPU a
 * row, against 2.0 µs this way (docs/benchmarks.md, "CSV through COPY, second step").
 */

/** The first characters csv.ts's csvCell prefixes with `'` (=, +, -, @, tab, CR), as codes. */
const formulaCodes = ['=', '+', '-', '@', '\t', '\r'].map((c) => c.charCodeAt(0))

/**
 * One cell's value in SQL as csvCell writes it before quoting: `'` before a formula start
 * (ascii() is the first character's code, 0 for ''). `value` is text, never null: COPY writes a
 * null as an empty field without quotes, which csvCell never does. The quoting is COPY's.
 */
function defused(value: RawBuilder<unknown>): RawBuilder<string> {
  const codes = sql.raw(formulaCodes.join(','))
  return sql<string>`case when ascii(${value}) in (${codes}) then '''' || ${value} else ${value} end`
}

/**
 * The cells of the row `o`, in csv.ts's header order. Three need no formula check, since their
 * text cannot start with one of those characters: created_at as toISOString writes it (to_char's
 * MS cuts the microseconds, as createdAtOf does; it starts with a year's digit), the status
 * (orders_status_check allows five lower-case words) and the total as dollars from integer cents
 * (csv.ts's dollars; total_cents >= 0 is a check of the table, so it starts with a digit). A
 * missing carrier or tracking number is an empty cell.
 */
function cellsSql(): RawBuilder<string>[] {
  const cents = sql`o.total_cents`
  return [
    defused(sql`o.order_number`),
    sql<string>`to_char(o.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
    sql<string>`o.status`,
    ...customerFields.map((f) => defused(sql`o.${sql.ref(f.column)}::text`)),
    sql<string>`(${cents} / 100)::text || '.' || lpad((${cents} % 100)::text, 2, '0')`,
    defused(sql`coalesce(o.carrier, '')`),
    defused(sql`coalesce(o.tracking_number, '')`),
  ]
}

/**
 * A parameter as an SQL literal: COPY takes no bind parameters. Strings through pg's
 * escapeLiteral (quotes and backslashes doubled, E'' when there is a backslash: right whatever
 * standard_conforming_strings says), arrays of them as ARRAY[...]. A NUL is refused: the
 * protocol's query text ends at one, which would cut the statement.
 */
function literal(value: unknown): string {
  if (Array.isArray(value)) return `array[${value.map(literal).join(',')}]`
  if (typeof value !== 'string') throw new TypeError(`CSV export: a ${typeof value} parameter`)
  if (value.includes('\0')) throw new RangeError('CSV export: a parameter holds a NUL character')
  return pg.escapeLiteral(value)
}

/**
 * The query the export copies under `filters`: selectOrderList's (no cursor, no limit, and no
 * order for an order number) with the cells as its columns, its `$n` parameters written in as literals, since COPY takes no bind
 * parameters. Kysely's compiled text has a `$n` only for a parameter (identifiers and the
 * literals in this file hold no `$`), and each is replaced once, from the text Kysely made,
 * never from a value.
 */
export function copyQuery(db: Kysely<Database>, filters: OrderFilters): string {
  let select = selectOrderList(db, filters, undefined, 1).clearSelect().clearLimit()
  // An order number matches at most one row (its unique index): no order to keep. With sorts
  // off (beginCsvExport) the ORDER BY made the planner walk orders_created in order and test
  // every row's number, a whole-table read for one row, rather than sort that row.
  if (filters.orderNumber !== undefined) select = select.clearOrderBy()
  const query = select.select(cellsSql().map((cell, i) => cell.as(`c${i}`))).compile()
  return query.sql.replace(/\$(\d+)/g, (_, n: string) => {
    const index = Number(n) - 1
    if (index >= query.parameters.length) throw new RangeError(`CSV export: no parameter $${n}`)
    return literal(query.parameters[index])
  })
}

/** The COPY statement of the export under `filters`: copyQuery's rows as CSV, every field quoted. */
export function copyStatement(db: Kysely<Database>, filters: OrderFilters): string {
  return `copy (${copyQuery(db, filters)}) to stdout with (format csv, force_quote *)`
}

/** The bytes CopyCsvCrlf looks at. */
const LF = 0x0a
const CR = 0x0d
const QUOTE = 0x22

/**
 * COPY's CSV with every field quoted (FORCE_QUOTE *) in, the same with each record's LF end as
 * CRLF out. A record ends at an LF outside quotes; an LF inside a quoted field (a name or an
 * address may hold line breaks) is data and stays as it is. With every field quoted and quotes
 * inside doubled, "outside quotes" is "after an even number of quote characters since the
 * stream's start", counted across chunks, which may end anywhere (in a field, between the two
 * quotes of a doubled one, between CR and LF). The bytes are UTF-8, whose multi-byte characters
 * hold no byte below 0x80, so a byte 0x22 or 0x0a is always the character.
 *
 * Ends with an error, never with a short file that looks whole, when the data stops inside a
 * quoted field or after a record without its LF: COPY's stream ends otherwise only after its
 * CopyDone, and fails (pg's error) when the connection or the statement does.
 */
export class CopyCsvCrlf extends Transform {
  /** Inside a quoted field after the bytes read so far. */
  #quoted = false
  /** The last byte read, LF once a whole record was read (and at the start). */
  #last = LF

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let ends = 0
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) ends++
    if (ends === 0) {
      this.#count(chunk, 0, chunk.length)
      if (chunk.length > 0) this.#last = chunk[chunk.length - 1] as number
      done(null, chunk)
      return
    }
    // At most one CR more per LF.
    const out = Buffer.allocUnsafe(chunk.length + ends)
    let n = 0
    let from = 0
    let counted = 0
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
      this.#count(chunk, counted, i)
      counted = i + 1
      if (this.#quoted) continue
      n += chunk.copy(out, n, from, i)
      out[n++] = CR
      out[n++] = LF
      from = i + 1
    }
    this.#count(chunk, counted, chunk.length)
    n += chunk.copy(out, n, from)
    this.#last = chunk[chunk.length - 1] as number
    done(null, out.subarray(0, n))
  }

  /** Flips #quoted for each quote character of chunk[from, to). */
  #count(chunk: Buffer, from: number, to: number): void {
    let quoted = this.#quoted
    for (let i = from; i < to; i++) if (chunk[i] === QUOTE) quoted = !quoted
    this.#quoted = quoted
  }

  override _flush(done: TransformCallback): void {
    done(this.#quoted || this.#last !== LF ? new Error('COPY ended inside a record') : undefined)
  }
}

/**
 * How long the export's statement may run (SET LOCAL statement_timeout, for its transaction
 * only), instead of DATABASE_STATEMENT_TIMEOUT_MS (10 s by default), which a million rows would
 * pass: the COPY lasts as long as the client takes to read it, since the socket's backpressure
 * holds the server back. 30 minutes covers 10M rows read at 10k rows/s.
 */
export const csvStatementTimeoutMs = 30 * 60_000

/**
 * The export's transaction, begun before its COPY: read-only, csvStatementTimeoutMs, and no
 * sort or bitmap scan, so the plan is the list's ordered index scan, which streams from the
 * first row (a sort would read every match before the first byte; test/admin/orders-plans
 * holds the plans to it).
 */
export const beginCsvExport = `begin read only; set local statement_timeout = ${csvStatementTimeoutMs}; set local enable_sort = off; set local enable_bitmapscan = off`

/**
 * The export's records as a stream of Buffers, on a connection of its own taken from `pool`
 * for as long as the stream lasts, in the transaction beginCsvExport begins. The transaction is
 * committed and the connection given back when the stream ends; on an error, or when the
 * consumer destroys the stream (the client went away), the connection is closed instead
 * (release(error)), which also ends the COPY on the server.
 *
 * Rejects, with the connection given back, when BEGIN fails; a failing COPY (say a missing
 * table) errors the stream before its first chunk.
 */
export async function copyOrderCsv(
  pool: pg.Pool,
  db: Kysely<Database>,
  filters: OrderFilters,
): Promise<CopyCsvCrlf> {
  const statement = copyStatement(db, filters)
  const client = await pool.connect()
  try {
    await client.query(beginCsvExport)
  } catch (error) {
    client.release(error as Error)
    throw error
  }
  // pg's query_timeout (the pool's, DATABASE_STATEMENT_TIMEOUT_MS + 1 s) would apply to the
  // COPY too: the export's own limit instead, a second after the server's (read when the query
  // is sent, so set before). pg clears its timer only through the query's callback, which a
  // COPY stream never calls: finish() calls it.
  const copy = copyTo(statement)
  const timed = copy as typeof copy & {
    query_timeout?: number
    callback?: (error?: Error) => void
  }
  timed.query_timeout = csvStatementTimeoutMs + 1000
  client.query(copy)
  // A late 'error' (that timer, a lost server) must not find the stream without a listener.
  copy.on('error', () => {})
  const body = new CopyCsvCrlf()
  let finished = false
  const finish = (error?: Error | null) => {
    if (finished) return
    finished = true
    timed.callback?.()
    if (error) {
      client.release(error)
      return
    }
    client.query('commit').then(
      () => client.release(),
      (failed: Error) => client.release(failed),
    )
  }
  pipeline(copy, body, finish)
  return body
}
