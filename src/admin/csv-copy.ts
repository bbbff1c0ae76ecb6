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
 * one on PGlite): one `COPY (select …) TO STDOUT` of the list's query (selectOrderList: the same
 * filters and order), each row one text column that is the whole CSV record, built in SQL with
 * csv.ts's rules, so Node only moves bytes. 1M rows cost 12-13 µs of Node CPU each when Node
 * formatted them (docs/benchmarks.md, "CSV through COPY").
 *
 * Why not `FORMAT csv`: PostgreSQL ends its CSV records with LF and quotes a field only when it
 * must, and the export's records end with CRLF with every field quoted (RFC 4180, as csv.ts
 * writes them and the tests hold). Text format would escape the record's own CR LF and any
 * backslash. So the COPY is `FORMAT binary` of one column, whose framing (a header, then per
 * row a field count and a length) CopyBinaryText strips: what is left is the records' bytes.
 */

/** The first characters csv.ts's csvCell prefixes with `'` (=, +, -, @, tab, CR), as codes. */
const formulaCodes = ['=', '+', '-', '@', '\t', '\r'].map((c) => c.charCodeAt(0))

/**
 * One cell in SQL as csvCell writes it: `'` before a formula start (ascii() is the first
 * character's code, 0 for ''), quotes doubled, the whole quoted. `value` is text, never null.
 */
function cellSql(value: RawBuilder<unknown>): RawBuilder<string> {
  const codes = sql.raw(formulaCodes.join(','))
  return sql<string>`'"' || replace(case when ascii(${value}) in (${codes}) then '''' || ${value} else ${value} end, '"', '""') || '"'`
}

/**
 * The record of the row `o`, in csv.ts's header order: created_at as toISOString writes it
 * (to_char's MS cuts the microseconds, as createdAtOf does), the total as dollars from integer
 * cents (csv.ts's dollars), a missing carrier or tracking number empty; ended by CRLF.
 */
function recordSql(): RawBuilder<string> {
  const cents = sql`o.total_cents`
  const cells = [
    sql`o.order_number`,
    sql`to_char(o.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
    sql`o.status`,
    ...customerFields.map((f) => sql`o.${sql.ref(f.column)}::text`),
    sql`(case when ${cents} < 0 then '-' else '' end) || (abs(${cents}) / 100)::text || '.' || lpad((abs(${cents}) % 100)::text, 2, '0')`,
    sql`coalesce(o.carrier, '')`,
    sql`coalesce(o.tracking_number, '')`,
  ].map(cellSql)
  return sql<string>`${sql.join(cells, sql` || ',' || `)} || chr(13) || chr(10)`
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
 * The COPY statement of the export under `filters`: selectOrderList's query (no cursor, no
 * limit) with the record as its only column, its `$n` parameters written in as literals.
 * Kysely's compiled text has a `$n` only for a parameter (identifiers and the literals in this
 * file hold no `$`), and each is replaced once, from the text Kysely made, never from a value.
 */
export function copyStatement(db: Kysely<Database>, filters: OrderFilters): string {
  const query = selectOrderList(db, filters, undefined, 1)
    .clearSelect()
    .clearLimit()
    .select(recordSql().as('record'))
    .compile()
  const text = query.sql.replace(/\$(\d+)/g, (_, n: string) => {
    const index = Number(n) - 1
    if (index >= query.parameters.length) throw new RangeError(`CSV export: no parameter $${n}`)
    return literal(query.parameters[index])
  })
  return `copy (${text}) to stdout with (format binary)`
}

/** COPY's binary signature, then the flags and the header extension's length (int32 each). */
const signatureLength = 11
const headerLength = signatureLength + 8

/**
 * COPY's binary format (PostgreSQL docs, "COPY", Binary Format) of one never-null column in,
 * the column's bytes out, row after row: the file header, each row's field count (int16, 1)
 * and field length (int32), and the trailer (int16 -1) taken out. Chunks may end anywhere, in
 * a header as in a value: what is not complete is kept for the next chunk.
 */
export class CopyBinaryText extends Transform {
  #pending: Buffer | undefined
  #headerRead = false
  /** Bytes of the current value still to pass on. */
  #valueLeft = 0
  #ended = false

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk
    this.#pending = undefined
    let pos = 0
    if (!this.#headerRead) {
      const extension = buf.length < headerLength ? 0 : buf.readUInt32BE(signatureLength + 4)
      if (buf.length < headerLength + extension) {
        this.#pending = buf
        done()
        return
      }
      pos = headerLength + extension
      this.#headerRead = true
    }
    const out = Buffer.allocUnsafe(buf.length - pos)
    let n = 0
    while (pos < buf.length) {
      if (this.#valueLeft > 0) {
        const end = Math.min(buf.length, pos + this.#valueLeft)
        n += buf.copy(out, n, pos, end)
        this.#valueLeft -= end - pos
        pos = end
        continue
      }
      if (this.#ended) {
        done(new Error('COPY sent data after its trailer'))
        return
      }
      if (buf.length - pos < 2) break
      const fields = buf.readInt16BE(pos)
      if (fields === -1) {
        this.#ended = true
        pos += 2
        continue
      }
      if (fields !== 1) {
        done(new Error(`COPY sent a row of ${fields} fields, not 1`))
        return
      }
      if (buf.length - pos < 6) break
      const length = buf.readInt32BE(pos + 2)
      pos += 6
      this.#valueLeft = Math.max(0, length)
    }
    if (pos < buf.length) this.#pending = buf.subarray(pos)
    if (n > 0) this.push(out.subarray(0, n))
    done()
  }

  override _flush(done: TransformCallback): void {
    done(this.#ended ? undefined : new Error('COPY ended before its trailer'))
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
 * The export's records as a stream of Buffers, on a connection of its own taken from `pool`
 * for as long as the stream lasts: in a read-only transaction with csvStatementTimeoutMs, and
 * sorts and bitmap scans off so the plan is the list's ordered index scan, which streams from
 * the first row (a sort would read every match before the first byte). The transaction is
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
): Promise<CopyBinaryText> {
  const statement = copyStatement(db, filters)
  const client = await pool.connect()
  try {
    await client.query(
      `begin read only; set local statement_timeout = ${csvStatementTimeoutMs}; set local enable_sort = off; set local enable_bitmapscan = off`,
    )
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
  const body = new CopyBinaryText()
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
