import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { isDatabaseUnavailable, isDataError, uniqueViolation } from '../../src/db/errors.ts'
import { received, sent } from '../../src/orders/primary-placement.ts'
import { customer, testDatabase, usingPostgres } from '../helpers/context.ts'
import { logLines, type ServerProcess, startTwoWorkers } from '../helpers/server.ts'

// With several workers the primary places every worker's orders (src/orders/primary-placement.ts).
// Several workers need a database server: PGlite belongs to one process.
describe.skipIf(!usingPostgres)('orders placed by the primary of WEB_CONCURRENCY=2', () => {
  let server: ServerProcess | undefined
  let client: pg.Client | undefined
  let databaseUrl = ''
  let drop = async () => {}
  afterAll(async () => {
    await server?.kill()
    await client?.end()
    await drop()
  })

  it("answers each worker its own orders exactly, placed on the primary's one connection", async () => {
    const db = await testDatabase()
    drop = db.drop
    server = await startTwoWorkers({ ...db.env, RATE_LIMIT_MAX: '0', WEBHOOKS_DISPATCH: 'off' })
    const s = server
    databaseUrl = db.env.DATABASE_URL as string
    client = new pg.Client(databaseUrl)
    await client.connect()
    const { rows } = await client.query<{ sku: string }>(
      `update products set stock = 30 where id = (select min(id) from products) returning sku`,
    )
    const sku = rows[0]?.sku as string

    // 60 orders of one unit for 30 units, a connection each (the primary hands connections to
    // the workers in turn), all at once.
    const place = (key: string, quantity = 1) =>
      fetch(`${s.url}/api/orders`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': key,
          connection: 'close',
        },
        body: JSON.stringify({ items: [{ sku, quantity }], customer }),
      })
    const keys = Array.from({ length: 60 }, () => randomUUID())
    const answers = await Promise.all(
      keys.map(async (key) => {
        const res = await place(key)
        return { key, status: res.status, body: (await res.json()) as Record<string, unknown> }
      }),
    )
    const placed = answers.filter((a) => a.status === 201)
    expect(placed).toHaveLength(30)
    expect(answers.filter((a) => a.status === 409)).toHaveLength(30)
    for (const a of answers.filter((a) => a.status === 409))
      expect(a.body).toMatchObject({ status: 409, available: [{ sku, units: 0 }] })
    const numbers = new Set(placed.map((a) => a.body.orderNumber))
    expect(numbers.size).toBe(30)
    const counts = await client.query<{ orders: number; stock: number }>(
      `select (select count(*)::int from orders) as orders,
              (select stock from products where sku = $1) as stock`,
      [sku],
    )
    expect(counts.rows[0]).toEqual({ orders: 30, stock: 0 })

    // A replay through either worker answers the order its key made; the key with another
    // order is refused. Errors of the database come back as the statement's own.
    const first = placed[0] as (typeof placed)[number]
    for (let i = 0; i < 4; i++) {
      const replay = await place(first.key)
      expect(replay.status).toBe(200)
      expect(await replay.json()).toEqual(first.body)
    }
    expect((await place(first.key, 2)).status).toBe(422)

    // Placed on the primary's one connection, not the workers' pools; the batches' sizes reach
    // the workers' metrics, summed over the cluster: every order went through one.
    const placing = await client.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity
       where datname = current_database() and application_name = 'order-service: placing orders'`,
    )
    expect(placing.rows[0]?.n).toBe(1)
    const metrics = await (await fetch(`${s.url}/metrics`)).text()
    const sum = /^orders_batch_size_sum\{kind="place"\} (\d+)$/m.exec(metrics)?.[1]
    expect(Number(sum)).toBe(60 + 4 + 1)
    // The process metrics count the primary too: its memory beside the two workers'.
    const rssOf = (pid: unknown) =>
      1024 * Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
    const workers = logLines(s.stdout)
      .filter((l) => l.msg === 'worker listening')
      .map((l) => l.worker)
    const scraped = Number(/^process_resident_memory_bytes (\d+)$/m.exec(metrics)?.[1])
    const primaryRss = rssOf(s.proc.pid)
    expect(primaryRss).toBeGreaterThan(40 * 2 ** 20)
    expect(scraped).toBeGreaterThan(rssOf(workers[0]) + rssOf(workers[1]) + primaryRss / 2)
  })

  it('stays ready while a batch waits on a lock (the one connection is busy), and places it after', async () => {
    const s = server as ServerProcess
    const c = client as pg.Client
    const { rows } = await c.query<{ sku: string }>(
      `select sku from products where stock > 5 order by id desc limit 1`,
    )
    const sku = rows[0]?.sku as string
    const holder = new pg.Client(databaseUrl)
    await holder.connect()
    await holder.query('begin')
    await holder.query('select 1 from products where sku = $1 for update', [sku])
    const order = fetch(`${s.url}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ items: [{ sku, quantity: 1 }], customer }),
    })
    // The placement is waiting on the row (its batch holds the primary's connection).
    const deadline = Date.now() + 10_000
    for (;;) {
      const waiting = await c.query(
        `select 1 from pg_stat_activity where datname = current_database()
         and application_name = 'order-service: placing orders' and wait_event_type = 'Lock'`,
      )
      if (waiting.rowCount) break
      if (Date.now() > deadline) throw new Error('the placement never waited on the lock')
      await new Promise((r) => setTimeout(r, 50))
    }
    for (let i = 0; i < 4; i++) {
      const started = Date.now()
      const ready = await fetch(`${s.url}/readyz`, { headers: { connection: 'close' } })
      expect(ready.status).toBe(200)
      expect(Date.now() - started).toBeLessThan(1500)
    }
    await holder.query('commit')
    await holder.end()
    expect((await order).status).toBe(201)
  })
})

describe.skipIf(!usingPostgres)('the primary unable to connect, with WEB_CONCURRENCY=2', () => {
  const role = `placing_${randomUUID().slice(0, 8)}`
  let server: ServerProcess | undefined
  let drop = async () => {}
  const asSuperuser = async (statement: string) => {
    const c = new pg.Client(process.env.TEST_DATABASE_URL)
    await c.connect()
    await c.query(statement).finally(() => c.end())
  }
  afterAll(async () => {
    await server?.kill()
    await drop()
    await asSuperuser(`drop role if exists ${role}`)
  })

  it('is not ready, and answers orders 503, while the workers themselves reach the database', async () => {
    const db = await testDatabase()
    drop = db.drop
    // Two connections for the role: the workers' pools of one each; none left for the primary.
    await asSuperuser(`create role ${role} login connection limit 2`)
    const url = new URL(db.env.DATABASE_URL as string)
    url.username = role
    server = await startTwoWorkers(
      {
        MIGRATION_DATABASE_URL: db.env.DATABASE_URL as string,
        DATABASE_URL: url.toString(),
        DATABASE_POOL_SIZE: '1',
        RATE_LIMIT_MAX: '0',
        WEBHOOKS_DISPATCH: 'off',
      },
      { ready: '/healthz' },
    )
    const s = server
    // A connection each, so both workers answer; each worker's own check passes, the primary's fails.
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${s.url}/readyz`, { headers: { connection: 'close' } })
      expect(res.status).toBe(503)
      expect(await res.json()).toEqual({
        status: 'unavailable',
        reason: "the database does not answer the primary's connection placing orders",
      })
    }
    expect((await fetch(`${s.url}/`)).status).toBe(200)
    const res = await fetch(`${s.url}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ items: [{ sku: 'MUG-001', quantity: 1 }], customer }),
    })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
    // The primary says why, once per failure, with the database's own words; its line reaches
    // this process through a pipe, after the worker's answer may have.
    const primaryErrors = () =>
      logLines(s.stdout)
        .filter((l) => l.pid === s.proc.pid)
        .map((l) => (l.err as { message?: string } | undefined)?.message)
    await expect
      .poll(primaryErrors, { timeout: 10_000 })
      .toContain(`too many connections for role "${role}"`)
  })
})

describe("a placement's error, from the primary to the worker", () => {
  const across = (err: unknown) => received(JSON.parse(JSON.stringify(sent(err))))

  it('keeps what the error handler reads: message, SQLSTATE, constraint', () => {
    const unique = Object.assign(new Error('duplicate key value'), {
      code: '23505',
      constraint: 'orders_idempotency_key_key',
    })
    const after = across(unique)
    expect(after.message).toBe('duplicate key value')
    expect(uniqueViolation(after)).toBe('orders_idempotency_key_key')
    expect(isDataError(after)).toBe(true)
    expect(isDatabaseUnavailable(after)).toBe(false)
  })

  it('keeps "the database is unavailable" (a 503) when only a nested error said it', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    })
    const several = new AggregateError([refused, refused], 'no address answered')
    expect(isDatabaseUnavailable(several)).toBe(true)
    expect(isDatabaseUnavailable(across(several))).toBe(true)
    expect(isDatabaseUnavailable(across(refused))).toBe(true)
    expect(isDatabaseUnavailable(across(new Error('a bug')))).toBe(false)
  })
})
