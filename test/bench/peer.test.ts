import type { AddressInfo } from 'node:net'
import { PGlite } from '@electric-sql/pglite'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testDatabase } from '../helpers/context.ts'
import {
  additionalFortune,
  buildPeer,
  fortunes,
  pgQuery,
  type Query,
  setupPeerTables,
  worldRows,
} from './peer.ts'

// The bench's yardstick (issue 19) checked against TechEmpower's requirements for test types 2
// (single database query) and 4 (fortunes), on PostgreSQL with TEST_DATABASE_URL (as the bench
// runs it, through pg) or else on PGlite, over a real socket.

let app: FastifyInstance
let base: string
let sql: <R>(text: string, values?: unknown[]) => Promise<R[]>
let close: () => Promise<void>

beforeAll(async () => {
  const database = await testDatabase()
  let query: Query
  if (database.env.DATABASE_URL) {
    const pool = new pg.Pool({ connectionString: database.env.DATABASE_URL, max: 4 })
    await setupPeerTables((script) => pool.query(script))
    query = pgQuery(pool)
    sql = async (text, values) => (await pool.query(text, values)).rows
    close = async () => {
      await pool.end()
      await database.drop()
    }
  } else {
    const db = new PGlite()
    await setupPeerTables((script) => db.exec(script))
    query = async <R>(_name: string, text: string, values?: unknown[]) =>
      (await db.query<R>(text, values)).rows
    sql = async (text, values) => (await db.query(text, values)).rows as never
    close = () => db.close()
  }
  app = await buildPeer(query)
  await app.listen({ port: 0, host: '127.0.0.1' })
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await app?.close()
  await close?.()
})

const unescapeHtml = (html: string) =>
  html
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&')

/** The table rows of a fortunes page, as [id, message as sent (escaped)]. */
const tableRows = (html: string) =>
  [...html.matchAll(/<tr><td>(\d+)<\/td><td>(.*?)<\/td><\/tr>/g)].map(
    (m) => [Number(m[1]), m[2] as string] as const,
  )

describe('the peer app (TechEmpower test types 2 and 4)', () => {
  it('has a world table of 10,000 rows, ids 1 to 10,000, random numbers in 1..10,000', async () => {
    const [stats] = await sql<Record<string, number | boolean>>(
      `select count(*)::int n, min(id) lo, max(id) hi, min("randomNumber") >= 1 low_ok,
        max("randomNumber") <= ${worldRows} high_ok,
        count(distinct "randomNumber")::int > 5000 random from peer.world`,
    )
    expect(stats).toEqual({
      n: worldRows,
      lo: 1,
      hi: worldRows,
      low_ok: true,
      high_ok: true,
      random: true,
    })
  })

  it('GET /db answers one existing row, picked at random, as {id, randomNumber} JSON', async () => {
    const ids = new Set<number>()
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${base}/db`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(res.headers.get('server')).toBeTruthy()
      expect(res.headers.get('date')).toBeTruthy()
      expect(res.headers.get('content-encoding')).toBeNull()
      const text = await res.text()
      expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text))
      const body = JSON.parse(text) as { id: number; randomNumber: number }
      expect(Object.keys(body)).toEqual(['id', 'randomNumber'])
      expect(Number.isInteger(body.id) && body.id >= 1 && body.id <= worldRows).toBe(true)
      // The row as stored, not a made-up number.
      const [row] = await sql<{ randomNumber: number }>(
        'select "randomNumber" from peer.world where id = $1',
        [body.id],
      )
      expect(body.randomNumber).toBe(row?.randomNumber)
      ids.add(body.id)
    }
    // 40 picks among 10,000 ids: all alike only if the id is not random.
    expect(ids.size).toBeGreaterThan(30)
  })

  it('GET /fortunes renders every stored fortune and the added one, sorted, escaped, in UTF-8', async () => {
    const res = await fetch(`${base}/fortunes`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('server')).toBeTruthy()
    expect(res.headers.get('date')).toBeTruthy()
    expect(res.headers.get('content-encoding')).toBeNull()
    const html = await res.text()
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(html))
    expect(html).toMatch(/^<!DOCTYPE html>/)
    expect(html).toContain('<tr><th>id</th><th>message</th></tr>')

    const rows = tableRows(html)
    const expected = [...fortunes, { id: 0, message: additionalFortune }].sort((a, b) =>
      a.message < b.message ? -1 : a.message > b.message ? 1 : 0,
    )
    expect(rows.map(([id, message]) => ({ id, message: unescapeHtml(message) }))).toEqual(expected)
    // The order the requirements' example shows: the script tag first, the lower-case
    // "fortune:" after every capital, the Japanese last.
    expect(rows[0]?.[0]).toBe(11)
    expect(rows.at(-2)?.[0]).toBe(1)
    expect(rows.at(-1)).toEqual([12, 'フレームワークのベンチマーク'])
    // Escaped: no markup of a fortune reaches the page.
    expect(html).not.toContain('<script>')
    expect(rows[0]?.[1]).toBe(
      '&lt;script&gt;alert(&quot;This should not be displayed in a browser alert box.&quot;);&lt;/script&gt;',
    )
    expect(rows.find(([id]) => id === 2)?.[1]).not.toContain("'")
  })

  it('GET /fortunes reads the table on every request and never stores the added fortune', async () => {
    await sql(`insert into peer.fortune (id, message) values (13, 'zebras <b>last</b>')`)
    try {
      const rows = tableRows(await (await fetch(`${base}/fortunes`)).text())
      expect(rows).toHaveLength(fortunes.length + 2)
      expect(rows.at(-2)).toEqual([13, 'zebras &lt;b&gt;last&lt;/b&gt;'])
      const [stored] = await sql<{ n: number }>('select count(*)::int n from peer.fortune')
      expect(stored?.n).toBe(fortunes.length + 1)
    } finally {
      await sql('delete from peer.fortune where id = 13')
    }
  })
})
