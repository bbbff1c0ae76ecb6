import type { AddressInfo } from 'node:net'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { csvCell, orderCsv } from '../../src/admin/csv.ts'
import { encodeCursor } from '../../src/admin/cursor.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken, signIn } from '../helpers/staff.ts'
import { insertOrders, seededNumber } from './seed.ts'

let t: TestApp
let cookie: string

beforeAll(async () => {
  t = await buildTestApp()
  await addStaff(t.app, 'csv@example.com')
  ;({ cookie } = await signIn(t.app, 'csv@example.com'))
  await insertOrders(t.app.db, 25, { start: new Date('2026-04-01T00:00:00Z') })
})
afterAll(async () => t?.close())

/**
 * RFC 4180 records: quoted fields with doubled quotes, commas and CRLF inside quotes kept.
 * A small reader of the format, so the test does not trust the writer's own split.
 */
function parseCsv(text: string): string[][] {
  const records: string[][] = []
  let record: string[] = []
  let i = 0
  while (i < text.length) {
    if (text[i] !== '"') throw new Error(`unquoted field at ${i}`)
    let value = ''
    i++
    for (;;) {
      const quote = text.indexOf('"', i)
      if (quote < 0) throw new Error('unterminated field')
      value += text.slice(i, quote)
      if (text[quote + 1] === '"') {
        value += '"'
        i = quote + 2
      } else {
        i = quote + 1
        break
      }
    }
    record.push(value)
    if (text[i] === ',') i++
    else if (text.startsWith('\r\n', i)) {
      records.push(record)
      record = []
      i += 2
    } else throw new Error(`bad separator at ${i}`)
  }
  return records
}

const download = (query = '') =>
  t.app.inject({ url: `/admin/orders.csv${query}`, headers: { cookie } })

describe('GET /admin/orders.csv', () => {
  it('is a CSV attachment in UTF-8 with a header and every order, newest first', async () => {
    const res = await download()
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8')
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="orders-\d{4}-\d{2}-\d{2}\.csv"$/,
    )
    expect(res.body.startsWith('\uFEFF')).toBe(true)
    const [header, ...rows] = parseCsv(res.body.slice(1))
    expect(header).toEqual([
      'Order number',
      'Placed (UTC)',
      'Status',
      'Name',
      'E-mail',
      'Street address',
      'City',
      'State',
      'ZIP code',
      'Total (USD)',
      'Carrier',
      'Tracking number',
    ])
    expect(rows.map((r) => r[0])).toEqual(
      Array.from({ length: 25 }, (_, i) => seededNumber(25 - i)),
    )
    // Order 25: placed 25 s after the start, status seedStatuses[0], total 1025 cents.
    expect(rows[0]).toEqual([
      seededNumber(25),
      '2026-04-01T00:00:25.000Z',
      'placed',
      'Customer 25',
      'c25-0@example.com',
      '1 Main St',
      'Austin',
      'IL',
      '78701',
      '10.25',
      '',
      '',
    ])
  })

  it('is a back-office page: a bearer token is sent to sign in, as docs/api.md says', async () => {
    const token = await addToken(t.app, await addStaff(t.app, 'csv-program@example.com'))
    const res = await t.app.inject({
      url: '/admin/orders.csv',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.statusCode).toBe(303)
    expect(res.headers.location).toBe('/admin/login?next=%2Fadmin%2Forders.csv')
    const api = await t.app.inject({
      url: '/api/admin/orders',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(api.statusCode).toBe(200)
  })

  it('takes the list filters, and refuses a bad one with 400', async () => {
    const res = await download('?status=shipped&state=')
    const rows = parseCsv(res.body.slice(1)).slice(1)
    expect(rows.length).toBe(5)
    expect(rows.every((r) => r[2] === 'shipped' && r[10] === 'UPS')).toBe(true)
    expect((await download('?from=2026-04-31')).statusCode).toBe(400)
  })

  it('refuses a cursor, damaged or not, and any other parameter: 400 naming it, no CSV', async () => {
    // The export is every page: a cursor was ignored, a damaged one too (200, the whole list).
    const cursor = encodeCursor({ createdAt: '2026-04-02T00:00:00.000000Z', id: '3' })
    for (const query of [
      '?cursor=abc',
      `?cursor=${cursor}`,
      '?status=shipped&cursor=',
      '?page=2',
    ]) {
      const res = await download(query)
      expect(res.statusCode, query).toBe(400)
      expect(res.headers['content-type'], query).not.toMatch(/text\/csv/)
      expect(res.body, query).toContain('unknown field')
    }
    const asJson = await t.app.inject({
      url: '/admin/orders.csv?cursor=abc',
      headers: { cookie, accept: 'application/json' },
    })
    expect(asJson.json().message).toBe('querystring has an unknown field "cursor"')
    // curl's */*, or no Accept: the error page.
    expect((await download('?cursor=abc')).headers['content-type']).toMatch(/^text\/html/)
    expect((await download('?status=shipped')).statusCode).toBe(200)
  })

  it('refuses a day past what the database takes with 400 before any byte of CSV', async () => {
    // It was a 200 with the header row, then a cut stream (+010000-01-01 in the statement).
    const res = await download('?to=9999-12-31')
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).not.toMatch(/text\/csv/)
    expect(res.body).toContain('To must be a day')
  })

  it('is a 5xx, not a 200 with a header and nothing else, when the first statement fails', async () => {
    await sql`alter table orders rename to orders_away`.execute(t.app.db)
    try {
      const res = await download()
      expect(res.statusCode).toBeGreaterThanOrEqual(500)
      expect(res.headers['content-type']).not.toMatch(/text\/csv/)
      expect(res.body).not.toContain('Order number')
    } finally {
      await sql`alter table orders_away rename to orders`.execute(t.app.db)
    }
  })

  it('quotes every field and keeps commas, quotes and line breaks inside it', async () => {
    await t.app.db
      .updateTable('orders')
      .set({ customer_name: 'Smith, "Doc"\r\nJr.', address: 'Line "1",\nLine 2' })
      .where('order_number', '=', seededNumber(3))
      .execute()
    const res = await download(`?q=${seededNumber(3)}`)
    const line = res.body.split('\r\n')[1] as string
    expect(line.startsWith(`"${seededNumber(3)}","`)).toBe(true)
    const [, row] = parseCsv(res.body.slice(1))
    expect(row?.[3]).toBe('Smith, "Doc"\r\nJr.')
    expect(row?.[5]).toBe('Line "1",\nLine 2')
  })

  it('prefixes a quote to cells a spreadsheet would run as a formula (OWASP)', async () => {
    const hostile = ['=HYPERLINK("http://x")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx']
    for (const [i, name] of hostile.entries()) {
      await t.app.db
        .updateTable('orders')
        .set({ customer_name: name, city: i === 0 ? '=cmd|"/c calc"!A0' : 'Austin' })
        .where('order_number', '=', seededNumber(10 + i))
        .execute()
    }
    const rows = parseCsv((await download()).body.slice(1))
    for (const [i, name] of hostile.entries()) {
      const row = rows.find((r) => r[0] === seededNumber(10 + i))
      expect(row?.[3]).toBe(`'${name}`)
    }
    expect(rows.find((r) => r[0] === seededNumber(10))?.[6]).toBe(`'=cmd|"/c calc"!A0`)
    // Not the ones that only contain such a character further in.
    expect(csvCell('a=b')).toBe('"a=b"')
    expect(csvCell("it's")).toBe(`"it's"`)
    expect(csvCell('')).toBe('""')
  })
})

describe('the CSV streams', () => {
  it('reads one batch at a time, as the consumer asks (never the whole result up front)', async () => {
    const chunks = orderCsv(t.app.db, { status: 'placed' }, 2)
    const header = await chunks.next()
    expect(header.value).toMatch(/^\uFEFF"Order number"/)
    const first = await chunks.next()
    // Placed: orders 5, 10, 15, 20, 25. The first batch holds the two newest.
    expect(first.value).toContain(seededNumber(25))
    expect(first.value).toContain(seededNumber(20))
    expect(first.value).not.toContain(seededNumber(15))
    // Packing order 5 now: the batch that reaches it has not been read yet, so it is left out.
    await sql`update orders set status = 'packed' where order_number = ${seededNumber(5)}`.execute(
      t.app.db,
    )
    let rest = ''
    for await (const chunk of chunks) rest += chunk
    expect(rest).toContain(seededNumber(15))
    expect(rest).toContain(seededNumber(10))
    expect(rest).not.toContain(seededNumber(5))
  })

  it('is sent as a stream: chunked, without a Content-Length', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
    const res = await fetch(`${base}/admin/orders.csv`, { headers: { cookie } })
    expect(res.status).toBe(200)
    expect(res.headers.get('transfer-encoding')).toBe('chunked')
    expect(res.headers.get('content-length')).toBeNull()
    expect((await res.text()).split('\r\n').length).toBeGreaterThan(20)
  })
})
