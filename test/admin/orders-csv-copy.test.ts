import type { AddressInfo } from 'node:net'
import { finished } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportOrderCsv, orderCsv } from '../../src/admin/csv.ts'
import { CopyCsvCrlf, copyStatement, csvStatementTimeoutMs } from '../../src/admin/csv-copy.ts'
import type { OrderFilters } from '../../src/admin/filters.ts'
import { connect, poolOf } from '../../src/db/connect.ts'
import { buildTestApp, type TestApp, usingPostgres } from '../helpers/context.ts'
import { addStaff, signIn } from '../helpers/staff.ts'
import { insertOrders, seededNumber } from './seed.ts'

// The export on PostgreSQL is made by the server (COPY, csv-copy.ts); on PGlite by Node
// (orderCsv). The Node one is the reference: every byte must be the same.

let t: TestApp
let cookie: string

// A statement limit far below what the lock test below makes the export wait.
const statementTimeoutMs = 400

const hostileEmails = [
  `x'); drop table orders; --@example.com`,
  `o'brien\\'; select 1; --@example.com`,
  `back\\slash"quote$1@example.com`,
]

beforeAll(async () => {
  t = await buildTestApp({ DATABASE_STATEMENT_TIMEOUT_MS: String(statementTimeoutMs) })
  await addStaff(t.app, 'copy@example.com')
  ;({ cookie } = await signIn(t.app, 'copy@example.com'))
  await insertOrders(t.app.db, 40, { start: new Date('2026-03-01T00:00:00Z') })
  const set = (g: number, values: Record<string, unknown>) =>
    t.app.db.updateTable('orders').set(values).where('order_number', '=', seededNumber(g)).execute()
  await set(1, { customer_name: 'Smith, "Doc"\r\nJr.', address: 'Line "1",\nLine 2' })
  for (const [i, name] of ['=1+1', '+1', '-2', '@SUM(A1)', '\tx', '\rx', '"=quoted'].entries()) {
    await set(2 + i, { customer_name: name, city: i === 0 ? '=cmd|"/c calc"!A0' : 'Austin' })
  }
  await set(9, { customer_name: 'Zoë 😀 «ünïcödé» 東京', address: "it's a \\ backslash\\" })
  await set(10, { total_cents: 5 })
  await set(11, { total_cents: 100 })
  await set(12, { total_cents: 0 })
  await set(13, { carrier: '-dash', tracking_number: '@at' })
  await set(14, { customer_name: '', carrier: '', tracking_number: '' })
  // Line breaks inside fields, next to quotes, at a field's start and end, and as the record's
  // last byte before its end: COPY's LF after them is the record's end, theirs are data.
  await set(15, { city: 'say "hi"\n', tracking_number: 'ends\n' })
  await set(16, { customer_name: '\n"x', address: '"', carrier: '\r\n' })
  for (const [i, email] of hostileEmails.entries()) await set(20 + i, { email })
  // Microseconds that round up: the CSV cuts them (toISOString's milliseconds).
  await sql`update orders set created_at = '2026-03-01T00:00:30.123999Z'
    where order_number = ${seededNumber(30)}`.execute(t.app.db)
})
afterAll(async () => t?.close())

async function text(chunks: AsyncIterable<string | Buffer>): Promise<string> {
  const parts: Buffer[] = []
  for await (const chunk of chunks) parts.push(Buffer.from(chunk))
  return Buffer.concat(parts).toString('utf8')
}

const download = (query = '') =>
  t.app.inject({ url: `/admin/orders.csv${query}`, headers: { cookie } })

describe.skipIf(!usingPostgres)('the CSV on PostgreSQL, made by COPY', () => {
  const filterCases: OrderFilters[] = [
    {},
    { status: 'shipped' },
    { state: 'CA' },
    { createdFrom: '2026-03-01T00:00:10.000Z', createdBefore: '2026-03-01T00:00:31.000Z' },
    { status: 'placed', state: 'NY' },
    { orderNumber: seededNumber(9) },
    { email: hostileEmails[1] as string },
    { email: 'nobody@example.com' },
  ]

  it('is byte for byte what Node writes, for every filter, and gives its connection back', async () => {
    const pool = poolOf(t.app.db) as pg.Pool
    for (const filters of filterCases) {
      const fromCopy = await text(await exportOrderCsv(t.app.db, filters))
      const fromNode = await text(orderCsv(t.app.db, filters))
      expect(fromCopy, JSON.stringify(filters)).toBe(fromNode)
    }
    // The whole list holds each kind of hostile cell: check it went through the rules.
    const all = await text(await exportOrderCsv(t.app.db, {}))
    expect(all).toContain(`"'=cmd|""/c calc""!A0"`)
    expect(all).toContain(`"'\rx"`)
    expect(all).toContain(`"""=quoted"`)
    expect(all).toContain(`"${seededNumber(30)}","2026-03-01T00:00:30.123Z",`)
    expect(all).toContain(`,"0.05",`)
    expect(all).toContain(`,"1.00",`)
    expect(all).toContain(`,"'-dash","'@at"\r\n`)
    expect(all).toContain(`,"say ""hi""\n",`)
    expect(all).toContain(`,"ends\n"\r\n`)
    expect(all).toContain(`,"\n""x",`)
    expect(all).toContain(`,"'\r\n",`)
    await sleep(50)
    expect(pool.totalCount - pool.idleCount, 'connections still checked out').toBe(0)
  })

  it("turns each record's LF end into CRLF wherever the chunks are cut", async () => {
    const client = new pg.Client({ connectionString: t.config.DATABASE_URL })
    await client.connect()
    let raw: Buffer
    try {
      const parts: Buffer[] = []
      for await (const part of client.query(copyTo(copyStatement(t.app.db, {})))) parts.push(part)
      raw = Buffer.concat(parts)
    } finally {
      await client.end()
    }
    const expected = (await text(orderCsv(t.app.db, {}))).replace(/^[^\n]*\n/, '')
    // COPY's own records end with a bare LF: the stream is what changes them.
    expect(raw.toString('utf8')).not.toBe(expected)
    for (const size of [1, 2, 3, 5, 7, 19, 64, raw.length]) {
      const stream = new CopyCsvCrlf()
      const out: Buffer[] = []
      stream.on('data', (b: Buffer) => out.push(b))
      for (let i = 0; i < raw.length; i += size) stream.write(raw.subarray(i, i + size))
      stream.end()
      await finished(stream)
      expect(Buffer.concat(out).toString('utf8'), `chunks of ${size}`).toBe(expected)
    }
    // Cut short (a record without its end, or inside a quoted field's line break): an error,
    // never a short file that ended well.
    const inField = raw.indexOf('"say ""hi""\n') + 12
    for (const end of [raw.length - 1, inField]) {
      const cut = new CopyCsvCrlf()
      cut.resume()
      cut.end(raw.subarray(0, end))
      await expect(finished(cut), `cut at ${end}`).rejects.toThrow(/inside a record/)
    }
  })

  it('writes hostile filter values into the statement as literals, never as SQL', async () => {
    for (const [i, email] of hostileEmails.entries()) {
      const res = await download(`?q=${encodeURIComponent(email)}`)
      expect(res.statusCode, res.body).toBe(200)
      const rows = res.body.split('\r\n').slice(1, -1)
      expect(rows).toHaveLength(1)
      expect(rows[0]?.startsWith(`"${seededNumber(20 + i)}",`)).toBe(true)
    }
    const { n } = await t.app.db
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow()
    expect(Number(n)).toBe(40)
    expect(copyStatement(t.app.db, { email: hostileEmails[1] as string })).toContain(
      `any(array[lower( E'o''brien\\\\''; select 1; --@example.com'::text)])`,
    )
    expect(() => copyStatement(t.app.db, { email: 'nul\0@example.com' })).toThrow(/NUL/)
  })

  it('runs under its own statement limit, not DATABASE_STATEMENT_TIMEOUT_MS', async () => {
    expect(csvStatementTimeoutMs).toBeGreaterThan(statementTimeoutMs)
    // Another session holds orders locked for longer than the service's statement limit (and
    // pg's query_timeout a second past it): the export waits for it and then streams.
    const locker = new pg.Client({ connectionString: t.config.DATABASE_URL })
    await locker.connect()
    try {
      await locker.query('begin; lock table orders in access exclusive mode')
      const answer = download('?status=placed')
      await sleep(statementTimeoutMs + 1500)
      await locker.query('commit')
      const res = await answer
      expect(res.statusCode, res.body).toBe(200)
      expect(res.body.split('\r\n').slice(1, -1)).toHaveLength(8)
    } finally {
      await locker.end()
    }
  })

  it('ends the COPY and closes its connection when the client goes away', async () => {
    // Some 60 MB of CSV: more than loopback's socket buffers can hold (tcp_rmem autotunes up to
    // 32 MB a socket here), so the COPY is still running when the client stops reading. With
    // 40,000 orders (6 MB) a fast COPY had finished into the buffers before the check below.
    const seeded = 400_000
    // Without the service's statement limit, which this insert would pass on a busy machine.
    const loader = connect({ databaseUrl: t.config.DATABASE_URL, dataDir: 'unused' })
    try {
      await insertOrders(loader, seeded, { start: new Date('2025-01-01T00:00:00Z'), offset: 1000 })
    } finally {
      await loader.destroy()
    }
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
    const pool = poolOf(t.app.db) as pg.Pool
    const copies = async () =>
      (
        await sql<{ n: string }>`select count(*) as n from pg_stat_activity
          where datname = current_database() and query like 'copy (%' and state <> 'idle'`.execute(
          t.app.db,
        )
      ).rows[0]?.n
    const abort = new AbortController()
    const res = await fetch(`${base}/admin/orders.csv`, {
      headers: { cookie },
      signal: abort.signal,
    })
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    await reader.read()
    // The client reads no further: the server is held back by the socket.
    await sleep(300)
    expect(await copies()).toBe('1')
    abort.abort()
    let left = 'unknown'
    for (let i = 0; i < 50; i++) {
      await sleep(100)
      left = `${await copies()} copies, ${pool.totalCount - pool.idleCount} checked out`
      if (left === '0 copies, 0 checked out') break
    }
    expect(left).toBe('0 copies, 0 checked out')
    // And the pool still serves a whole export.
    const again = await fetch(`${base}/admin/orders.csv?status=placed`, { headers: { cookie } })
    expect((await again.text()).split('\r\n').length).toBe(1 + 8 + seeded / 5 + 1)
  })

  it('ends the COPY and gives its connection back when the export is dropped unread', async () => {
    // After the test above: 400,000 more orders, so no export here ends within its first chunks.
    // What the route does when the client went away before the first byte: the iterator it got
    // is returned without a read. A generator wrapping it ran nothing on return() and left the
    // COPY paused on its connection for ever (15 such downloads took the pool's 9 left).
    const pool = poolOf(t.app.db) as pg.Pool
    const exports = await Promise.all(
      [{}, { state: 'CA' }, { status: 'placed' }].map((f) => exportOrderCsv(t.app.db, f)),
    )
    expect(pool.totalCount - pool.idleCount).toBe(exports.length)
    await Promise.all(exports.map((e) => e.return?.()))
    let left = 'unknown'
    for (let i = 0; i < 50; i++) {
      left = `${pool.totalCount - pool.idleCount} checked out`
      if (left === '0 checked out') break
      await sleep(100)
    }
    expect(left).toBe('0 checked out')
    const { rows } = await sql<{ n: string }>`select count(*) as n from pg_stat_activity
      where datname = current_database() and query like 'copy (%' and state <> 'idle'`.execute(
      t.app.db,
    )
    expect(rows[0]?.n).toBe('0')
  })
})

describe.skipIf(usingPostgres)('the CSV on PGlite', () => {
  it('is written by Node, in keyset batches', async () => {
    const chunks = await exportOrderCsv(t.app.db, { status: 'shipped' })
    const all: (string | Buffer)[] = []
    for await (const chunk of chunks) all.push(chunk)
    expect(all.every((c) => typeof c === 'string')).toBe(true)
    expect(all.join('')).toBe(await text(orderCsv(t.app.db, { status: 'shipped' })))
  })
})
