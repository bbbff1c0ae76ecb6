import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { testDatabase, usingPostgres } from '../helpers/context.ts'
import { apiOrder } from '../helpers/reliability.ts'
import { logLines, type ServerProcess, startTwoWorkers } from '../helpers/server.ts'

/** The sum of a metric's samples whose line contains every one of `parts`. */
function sample(text: string, name: string, ...parts: string[]): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => parts.every((p) => l.includes(p)))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
}

// Several workers need a database server: PGlite belongs to one process.
describe.skipIf(!usingPostgres)('/metrics with WEB_CONCURRENCY=2', () => {
  let server: ServerProcess | undefined
  let drop = async () => {}
  afterAll(async () => {
    await server?.kill()
    await drop()
  })

  it('answers for all workers, summed or not as each metric needs, on one instance label', async () => {
    const db = await testDatabase()
    drop = db.drop
    server = await startTwoWorkers({
      ...db.env,
      RATE_LIMIT_MAX: '0',
      // Events stay in the outbox: a gauge every worker reads alike must not be doubled.
      WEBHOOKS_DISPATCH: 'off',
      WEBSITE_INSTANCE_ID: 'a1b2c3',
    })
    const s = server
    for (let i = 0; i < 40; i++) {
      // A connection each: the primary hands them to the workers in turn.
      const res = await fetch(`${s.url}/healthz`, { headers: { connection: 'close' } })
      expect(res.status).toBe(200)
    }
    const placed = await fetch(`${s.url}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify(apiOrder(1)),
    })
    expect(placed.status).toBe(201)
    const client = new pg.Client(db.env.DATABASE_URL)
    await client.connect()
    // No endpoint wants the order's event: two written by hand, left for a dispatcher.
    await client.query(
      `insert into outbox (event_type, payload) values ('order.placed', '{}'), ('order.placed', '{}')`,
    )
    const { rows } = await client.query(
      'select count(*)::int as n from outbox where fanned_out_at is null',
    )
    await client.end()

    const scrapes: string[] = []
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${s.url}/metrics`, { headers: { connection: 'close' } })
      expect(res.status).toBe(200)
      scrapes.push(await res.text())
    }
    const healthz = scrapes.map((t) =>
      sample(t, 'http_request_duration_seconds_count', 'route="/healthz"'),
    )
    // Before: each scrape was one worker's count (about 20 of the 40), alternating.
    expect(healthz).toEqual(healthz.map(() => 40))
    expect(scrapes.map((t) => sample(t, 'orders_placed_total'))).toEqual(scrapes.map(() => 1))
    // Both workers served some (the request log names the pid).
    const pids = logLines(s.stdout)
      .filter((l) => l.route === '/healthz')
      .map((l) => l.pid)
    expect(new Set(pids).size).toBe(2)
    const text = scrapes.at(-1) as string
    expect(sample(text, 'webhook_outbox_not_fanned_out')).toBe(rows[0].n)
    expect(rows[0].n).toBeGreaterThan(0)
    // One line per series: Node's version once, not once per worker.
    expect(text.match(/^nodejs_version_info\{/gm)).toHaveLength(1)
    const series = text.split('\n').filter((l) => l && !l.startsWith('#'))
    expect(series.filter((l) => !l.includes('service_instance_id="a1b2c3"'))).toEqual([])
  })
  it('answers 503 in JSON while a worker does not answer the primary', async () => {
    const s = server as ServerProcess
    const [stopped] = logLines(s.stdout)
      .filter((l) => l.msg === 'worker listening')
      .map((l) => l.worker as number)
    process.kill(stopped as number, 'SIGSTOP')
    try {
      // A connection each: the primary hands them to the workers in turn, so one of the two
      // reaches the worker still running (the other waits on the stopped one, and is given up).
      const scrapes = await Promise.all(
        [0, 1].map(() =>
          fetch(`${s.url}/metrics`, {
            headers: { connection: 'close' },
            signal: AbortSignal.timeout(9000),
          }).then(
            async (res) => ({ status: res.status, body: await res.text() }),
            () => undefined,
          ),
        ),
      )
      const answered = scrapes.filter((r) => r !== undefined)
      expect(answered).toHaveLength(1)
      expect(answered[0]?.status).toBe(503)
      expect(JSON.parse(answered[0]?.body ?? '')).toMatchObject({
        statusCode: 503,
        message: "The workers' metrics could not be gathered; try again.",
      })
    } finally {
      process.kill(stopped as number, 'SIGCONT')
    }
  })
})
