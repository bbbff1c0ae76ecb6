import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { connect } from '../../src/db/connect.ts'
import { customer, testDatabase } from '../helpers/context.ts'
import { queuedSales } from '../helpers/insights.ts'
import { logLines, startServer } from '../helpers/server.ts'

const skus = ['MUG-001', 'TEE-002', 'CAP-003', 'BAG-004', 'BTL-005']

interface Ack {
  orderNumber: string
  requestId: string
  sku: string
  quantity: number
}

describe('graceful shutdown', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ops-shutdown-'))
  let drop = async () => {}
  afterAll(async () => {
    await drop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('on SIGTERM mid-stream, every acknowledged order is stored whole, and the process exits 0', async () => {
    const db = await testDatabase()
    drop = db.drop
    // With PGlite the server owns a data folder; the test opens it after the server is gone.
    const dbEnv = db.env.DATABASE_URL ? db.env : { DATA_DIR: join(dir, 'data') }
    const logFile = join(dir, 'logs', 'service.log')
    const server = await startServer({
      ...dbEnv,
      RATE_LIMIT_MAX: '0',
      LOG_FILE: logFile,
      FOLD_INTERVAL_MS: '50',
    })

    const acks: Ack[] = []
    const refused: number[] = []
    let stop = false
    let n = 0
    // Keep-alive loops, half through the API (201), half through the form (303).
    const loop = async (viaForm: boolean) => {
      while (!stop) {
        const sku = skus[n++ % skus.length] as string
        const quantity = 1 + (n % 3)
        try {
          const res = viaForm
            ? await fetch(`${server.url}/orders`, {
                method: 'POST',
                redirect: 'manual',
                headers: { 'content-type': 'application/x-www-form-urlencoded' },
                body: new URLSearchParams({
                  [`qty-${sku}`]: String(quantity),
                  ...customer,
                  idempotencyKey: randomUUID(),
                }),
              })
            : await fetch(`${server.url}/api/orders`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
                body: JSON.stringify({ items: [{ sku, quantity }], customer }),
              })
          await res.arrayBuffer()
          const location = res.headers.get('location') ?? ''
          if (res.status === 201 || res.status === 303) {
            acks.push({
              orderNumber: location.split('/').pop() as string,
              requestId: res.headers.get('x-request-id') as string,
              sku,
              quantity,
            })
          } else refused.push(res.status)
        } catch {
          // The server is going away: connection refused or reset. Not acknowledged.
          await new Promise((r) => setTimeout(r, 10))
        }
      }
    }
    const loops = Array.from({ length: 8 }, (_, i) => loop(i % 2 === 1))

    while (acks.length < 100) await new Promise((r) => setTimeout(r, 20))
    const beforeSignal = acks.length
    server.proc.kill('SIGTERM')
    const exit = await server.exited
    stop = true
    await Promise.all(loops)

    expect(exit).toEqual({ code: 0, signal: null })
    // Requests in flight when the signal came were finished and acknowledged, not dropped.
    expect(acks.length).toBeGreaterThan(beforeSignal)
    // Whatever was refused while closing was refused cleanly (503), never a 5xx crash.
    expect(refused.filter((s) => s !== 503)).toEqual([])

    const check = connect({ databaseUrl: db.env.DATABASE_URL, dataDir: join(dir, 'data') })
    try {
      const rows = await check
        .selectFrom('orders as o')
        .innerJoin('order_lines as l', 'l.order_id', 'o.id')
        .innerJoin('products as p', 'p.id', 'l.product_id')
        .select(['o.order_number', 'o.total_cents', 'p.sku', 'l.quantity', 'l.unit_price_cents'])
        .execute()
      const stored = new Map(rows.map((r) => [r.order_number, r]))
      for (const ack of acks) {
        const row = stored.get(ack.orderNumber)
        expect(row, `acknowledged order ${ack.orderNumber}`).toBeDefined()
        expect(row?.sku).toBe(ack.sku)
        expect(row?.quantity).toBe(ack.quantity)
        expect(Number(row?.total_cents)).toBe(ack.quantity * Number(row?.unit_price_cents))
      }
      // None half-written: no order without lines, and every sale is queued or folded once.
      const { rows: orphans } = await sql<{ n: number }>`
        select count(*)::int as n from orders o
        where not exists (select 1 from order_lines l where l.order_id = o.id)
      `.execute(check)
      expect(orphans[0]?.n).toBe(0)
      const { rows: units } = await sql<{ sold: number; counted: number }>`
        select (select coalesce(sum(quantity), 0)::int from order_lines) as sold,
               ((select coalesce(sum(units), 0) from state_product_sales)
                + (select coalesce(sum(units), 0) from ${queuedSales}))::int as counted
      `.execute(check)
      expect(units[0]?.counted).toBe(units[0]?.sold)
    } finally {
      await check.destroy()
    }

    // Every acknowledged request has its log line, on stdout and in LOG_FILE, flushed at exit.
    const fileLines = logLines(readFileSync(logFile, 'utf8').split('\n'))
    const stdoutLines = logLines(server.stdout)
    for (const lines of [fileLines, stdoutLines]) {
      const logged = new Set(lines.filter((l) => l.msg === 'request completed').map((l) => l.reqId))
      expect(acks.filter((a) => !logged.has(a.requestId))).toEqual([])
    }
    expect(fileLines.some((l) => l.msg === 'closing gracefully')).toBe(true)
    expect(fileLines.at(-1)?.msg).toBe('stopped: every request answered, the database closed')
    // The start names the database in use, without credentials.
    const using = fileLines.find((l) => String(l.msg).startsWith('using '))?.msg
    if (db.env.DATABASE_URL) {
      const url = new URL(db.env.DATABASE_URL)
      expect(using).toBe(
        `using PostgreSQL at ${url.hostname}:${url.port || '5432'}, database ${url.pathname.slice(1)}`,
      )
    } else {
      // startServer runs NODE_ENV=production: a warning, as each instance keeps its own orders.
      const line = fileLines.find((l) => l.msg === using)
      expect([line?.level, using]).toEqual([
        40,
        `using the embedded database in ${join(dir, 'data')}: DATABASE_URL is not set (in production each instance then keeps its own orders)`,
      ])
    }
  })
})
