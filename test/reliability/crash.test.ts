import { randomUUID } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { connect } from '../../src/db/connect.ts'
import type { Database } from '../../src/db/schema.ts'
import { testDatabase, usingPostgres } from '../helpers/context.ts'
import { queuedSales } from '../helpers/insights.ts'
import {
  aggregateMismatches,
  apiOrder,
  brokenInvariants,
  formOrder,
  formQuantities,
  sleep,
  soak,
  timeLimit,
} from '../helpers/reliability.ts'
import { type ServerProcess, startServer } from '../helpers/server.ts'

// Soak runs (SOAK=1, RELIABILITY_RUNS) take longer than the default 30 s.
vi.setConfig({ testTimeout: timeLimit })

const rounds = soak ? 8 : 2
const loops = 8
// Kill once this many orders are acknowledged in the round (or after maxLoadMs).
const killAfter = soak ? 3000 : 300
const maxLoadMs = soak ? 20_000 : 4000

interface Attempt {
  key: string
  kind: 'api' | 'form'
  seed: number
  /** acked: the client was told the order exists; unknown: the answer never came. */
  outcome: 'pending' | 'acked' | 'refused' | 'unknown'
  orderNumber?: string
  status?: number
}

async function send(server: ServerProcess, a: Attempt): Promise<Response> {
  if (a.kind === 'api') {
    return fetch(`${server.url}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': a.key },
      body: JSON.stringify(apiOrder(a.seed)),
    })
  }
  return fetch(`${server.url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: formOrder(a.seed, a.key),
    redirect: 'manual',
  })
}

/** Steady orders from `loops` concurrent clients until stopped; every attempt recorded. */
function load(server: ServerProcess, attempts: Attempt[], firstSeed: number) {
  let stopped = false
  let seed = firstSeed
  const run = async () => {
    while (!stopped) {
      const a: Attempt = {
        key: randomUUID(),
        kind: seed % 2 ? 'api' : 'form',
        seed: seed++,
        outcome: 'pending',
      }
      attempts.push(a)
      try {
        const res = await send(server, a)
        a.status = res.status
        if (res.status === 201)
          a.orderNumber = ((await res.json()) as { orderNumber: string }).orderNumber
        else if (res.status === 303) a.orderNumber = res.headers.get('location')?.split('/').pop()
        else await res.arrayBuffer()
        a.outcome = a.orderNumber ? 'acked' : 'refused'
      } catch {
        // The connection died with the server: the order may or may not have been committed.
        a.outcome = 'unknown'
        return
      }
    }
  }
  const running = Promise.all(Array.from({ length: loops }, run))
  return {
    stop: () => {
      stopped = true
      return running
    },
    running,
  }
}

// Killing a server process needs a database that outlives it: PostgreSQL only.
describe.skipIf(!usingPostgres)(
  'SIGKILL in the middle of an order stream (PostgreSQL only)',
  () => {
    let databaseUrl: string
    let drop: () => Promise<void>
    let db: Kysely<Database>
    let server: ServerProcess | undefined
    const env = () => ({
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_MAX: '0',
      FOLD_INTERVAL_MS: '100',
    })

    beforeAll(async () => {
      const database = await testDatabase()
      databaseUrl = database.env.DATABASE_URL as string
      drop = database.drop
      db = connect({ databaseUrl, dataDir: 'unused', poolSize: 2 })
    })
    afterAll(async () => {
      await server?.kill('SIGKILL')
      await db?.destroy()
      await drop?.()
    })

    it(`loses no acknowledged order and writes nothing by halves, over ${rounds} kills`, async () => {
      const attempts: Attempt[] = []
      server = await startServer(env())
      for (let round = 0; round < rounds; round++) {
        const from = attempts.length
        const traffic = load(server, attempts, round * 1_000_000)
        const started = Date.now()
        const ackedThisRound = () =>
          attempts.slice(from).filter((a) => a.outcome === 'acked').length
        while (ackedThisRound() < killAfter && Date.now() - started < maxLoadMs) await sleep(5)
        const inFlight = attempts.slice(from).filter((a) => a.outcome === 'pending').length
        expect(await server.kill('SIGKILL')).toBeNull()
        await traffic.stop()
        const round_ = attempts.slice(from)
        console.info(
          `round ${round}: ${round_.filter((a) => a.outcome === 'acked').length} acknowledged, ` +
            `${inFlight} in flight at the kill, ${round_.filter((a) => a.outcome === 'unknown').length} unanswered, ` +
            `${round_.filter((a) => a.outcome === 'refused').length} refused`,
        )
        expect(round_.filter((a) => a.outcome === 'refused')).toEqual([])
        expect(round_.filter((a) => a.outcome === 'acked').length).toBeGreaterThan(50)

        // Straight from the database, with the server dead: what the clients were told is there.
        await expectAcknowledgedStored(db, attempts)
        expect(await brokenInvariants(db, { fold: false })).toEqual([])
        // The cut sales are either still queued or folded: never half of each.
        const { rows } = await sql<{ counted: string; queued: string; ordered: string }>`
        select (select coalesce(sum(units), 0) from state_product_sales) as counted,
               (select coalesce(sum(units), 0) from ${queuedSales}) as queued,
               (select coalesce(sum(quantity), 0) from order_lines) as ordered`.execute(db)
        const r = rows[0] as { counted: string; queued: string; ordered: string }
        expect(Number(r.counted) + Number(r.queued)).toBe(Number(r.ordered))

        const unanswered = round_.filter((a) => a.outcome === 'unknown')
        const committed = await sql<{ n: string }>`
          select count(*) as n from orders
          where idempotency_key = any(${unanswered.map((a) => `${a.kind}:${a.key}`)}::text[])`.execute(
          db,
        )
        console.info(
          `round ${round}: ${committed.rows[0]?.n} of the ${unanswered.length} unanswered had committed`,
        )

        server = await startServer(env())
        // A client retrying what got no answer, with the same key, gets exactly one order.
        for (const a of round_.filter((x) => x.outcome === 'unknown')) {
          const res = await send(server, a)
          expect([200, 201, 303]).toContain(res.status)
          a.orderNumber =
            res.status === 303
              ? (res.headers.get('location')?.split('/').pop() ?? undefined)
              : ((await res.json()) as { orderNumber: string }).orderNumber
          a.outcome = 'acked'
        }
      }

      // Every attempt is now one order, once; replays of acknowledged ones give the same order.
      const ours = await sql<{ n: string }>`select count(*) as n from orders`.execute(db)
      expect(Number(ours.rows[0]?.n)).toBe(attempts.filter((a) => a.outcome === 'acked').length)
      for (const a of attempts.filter((x) => x.kind === 'api').slice(0, 20)) {
        const res = await send(server, a)
        expect(res.status).toBe(200)
        expect(((await res.json()) as { orderNumber: string }).orderNumber).toBe(a.orderNumber)
      }
      await expectAcknowledgedStored(db, attempts)

      // The restarted service's own folder catches up: the aggregates equal a fresh GROUP BY,
      // and the top three it serves are the GROUP BY's top three.
      const until = Date.now() + 10_000
      let mismatches = await aggregateMismatches(db)
      while (mismatches.length > 0 && Date.now() < until) {
        await sleep(100)
        mismatches = await aggregateMismatches(db)
      }
      expect(mismatches).toEqual([])
      await sleep(600) // the top-three cache (TOP_PRODUCTS_CACHE_MS) expires
      for (const state of ['CA', 'TX', 'NY', 'FL', 'WA', 'IL', 'OR']) {
        const truth = await sql<{ sku: string; units: string }>`
        select p.sku, sum(l.quantity) as units
        from order_lines l join orders o on o.id = l.order_id join products p on p.id = l.product_id
        where o.state = ${state}
        group by p.id, p.sku order by units desc, p.id limit 3`.execute(db)
        const served = (await (
          await fetch(`${server.url}/api/states/${state}/top-products`)
        ).json()) as {
          products: { sku: string; units: number }[]
        }
        expect(served.products.map((p) => [p.sku, p.units])).toEqual(
          truth.rows.map((t) => [t.sku, Number(t.units)]),
        )
      }
      expect(await brokenInvariants(db)).toEqual([])
    })
  },
)

/** Each acknowledged order is stored under its key, with the lines that were asked for. */
async function expectAcknowledgedStored(db: Kysely<Database>, attempts: Attempt[]) {
  const acked = attempts.filter((a) => a.outcome === 'acked')
  const { rows } = await sql<{ order_number: string; idempotency_key: string; lines: string }>`
    select o.order_number, o.idempotency_key,
           (select string_agg(p.sku || 'x' || l.quantity, ',' order by p.sku)
            from order_lines l join products p on p.id = l.product_id where l.order_id = o.id) as lines
    from orders o where o.order_number = any(${acked.map((a) => a.orderNumber as string)}::text[])
  `.execute(db)
  const stored = new Map(rows.map((r) => [r.order_number, r]))
  const missing = acked.filter((a) => !stored.has(a.orderNumber as string))
  expect(missing.map((a) => a.orderNumber)).toEqual([])
  for (const a of acked) {
    const row = stored.get(a.orderNumber as string)
    expect(row?.idempotency_key).toBe(`${a.kind}:${a.key}`)
    expect(row?.lines).toBe(expectedLines(a))
  }
}

function expectedLines(a: Attempt): string {
  if (a.kind === 'api') {
    return apiOrder(a.seed)
      .items.map((i) => `${i.sku}x${i.quantity}`)
      .sort()
      .join(',')
  }
  return Object.entries(formQuantities(a.seed))
    .map(([sku, quantity]) => `${sku}x${quantity}`)
    .sort()
    .join(',')
}
