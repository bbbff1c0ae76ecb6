import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type App, buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { connect } from '../../src/db/connect.ts'
import type { Database } from '../../src/db/schema.ts'
import { testDatabase, usingPostgres } from '../helpers/context.ts'
import {
  apiOrder,
  brokenInvariants,
  faultyProxy,
  inhumaneMessage,
  missingSecurityHeaders,
  sleep,
  soak,
  timeLimit,
} from '../helpers/reliability.ts'

// Soak runs (SOAK=1, RELIABILITY_RUNS) take longer than the default 30 s.
vi.setConfig({ testTimeout: timeLimit })

interface Answer {
  key: string
  seed: number
  status: number
  ms: number
  at: number
  orderNumber?: string
  retryAfter?: string
  message?: string
  missingHeaders: string[]
}

// The outage lasts this long in each scenario.
const outageMs = soak ? 8000 : 2500
// "Quickly": the connect timeout (1 s) or the query limit (2.5 s) plus room for a busy 2-core box.
const fastMs = 4000

// The service and PostgreSQL talk through a proxy the test breaks; the shared PostgreSQL
// server itself is never stopped (other suites use it). PostgreSQL only: PGlite has no network.
describe.skipIf(!usingPostgres)(
  'database outages (PostgreSQL only, through a breakable proxy)',
  () => {
    let app: App
    let direct: Kysely<Database>
    let proxy: Awaited<ReturnType<typeof faultyProxy>>
    let drop: () => Promise<void>
    let databaseName: string
    const answers: Answer[] = []

    beforeAll(async () => {
      const database = await testDatabase()
      drop = database.drop
      const real = new URL(database.env.DATABASE_URL as string)
      databaseName = real.pathname.slice(1)
      proxy = await faultyProxy({ host: real.hostname, port: Number(real.port || 5432) })
      const proxied = new URL(real)
      proxied.hostname = '127.0.0.1'
      proxied.port = String(proxy.port)
      const config = loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        RATE_LIMIT_MAX: '0',
        DATABASE_URL: proxied.toString(),
        DATABASE_POOL_SIZE: '5',
        DATABASE_CONNECT_TIMEOUT_MS: '1000',
        // The client gives up on a query a second after this: 2.5 s without an answer.
        DATABASE_STATEMENT_TIMEOUT_MS: '1500',
        FOLD_INTERVAL_MS: '50',
        // About the database's faults: on a loaded machine the event-loop check would answer
        // some requests its own 503 first.
        MAX_EVENT_LOOP_DELAY_MS: '0',
      })
      app = await buildApp({ config, salesFold: true })
      await app.ready()
      direct = connect({ databaseUrl: real.toString(), dataDir: 'unused', poolSize: 2 })
    })
    afterAll(async () => {
      proxy?.restore()
      await app?.close()
      await proxy?.close()
      await direct?.destroy()
      await drop?.()
    })

    let seed = 0
    async function order(key: string = randomUUID(), s = seed++): Promise<Answer> {
      const started = performance.now()
      const res = await app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': key },
        payload: apiOrder(s),
      })
      const body = res.json()
      const answer: Answer = {
        key,
        seed: s,
        status: res.statusCode,
        ms: performance.now() - started,
        at: Date.now(),
        orderNumber: body.orderNumber,
        retryAfter: res.headers['retry-after'] as string | undefined,
        message: body.message,
        missingHeaders: missingSecurityHeaders(res.headers),
      }
      answers.push(answer)
      return answer
    }

    /** `clients` loops placing orders until `stop` is set; every answer recorded. */
    function traffic(clients = 4) {
      let stopped = false
      const mine: Answer[] = []
      const done = Promise.all(
        Array.from({ length: clients }, async () => {
          while (!stopped) {
            mine.push(await order())
            await sleep(5)
          }
        }),
      )
      return {
        answers: mine,
        stop: async () => {
          stopped = true
          await done
          return mine
        },
      }
    }

    function expectOnly201Or503(list: Answer[]) {
      for (const a of list) {
        expect([201, 503], JSON.stringify(a)).toContain(a.status)
        expect(a.missingHeaders).toEqual([])
        if (a.status === 503) {
          expect(Number(a.retryAfter)).toBeGreaterThan(0)
          expect(inhumaneMessage(a.message)).toBeUndefined()
        }
      }
    }

    const readyz = async () => (await app.inject('/readyz')).statusCode

    async function expectServingAgain() {
      // No restart: the same app instance takes orders again once the database is back.
      const until = Date.now() + 10_000
      let last: Answer | undefined
      while (Date.now() < until) {
        last = await order()
        if (last.status === 201) break
        await sleep(100)
      }
      expect(last?.status).toBe(201)
      const after = await Promise.all(Array.from({ length: 20 }, () => order()))
      expect(after.map((a) => a.status)).toEqual(Array(20).fill(201))
      expect(await readyz()).toBe(200)
    }

    const summary = (name: string, list: Answer[], from: number, to: number) => {
      const during = list.filter((a) => a.at >= from && a.at <= to)
      const slowest = Math.max(0, ...during.map((a) => a.ms))
      console.info(
        `${name}: ${list.length} requests, ${during.length} during the outage ` +
          `(${during.filter((a) => a.status === 503).length} × 503, slowest ${slowest.toFixed(0)} ms), ` +
          `${list.filter((a) => a.status === 201).length} × 201 in all`,
      )
      return { during, slowest }
    }

    it('answers 503 fast while the server is gone (connections reset, new ones refused), then serves again', async () => {
      expect((await order()).status).toBe(201)
      const load = traffic()
      await sleep(300)
      const from = Date.now()
      proxy.cut()
      await sleep(200)
      expect(await readyz()).toBe(503)
      await sleep(outageMs)
      const to = Date.now()
      proxy.restore()
      await sleep(500)
      const list = await load.stop()
      expectOnly201Or503(list)
      const { during, slowest } = summary('server gone', list, from + 100, to)
      expect(during.filter((a) => a.status === 503).length).toBeGreaterThan(5)
      expect(slowest).toBeLessThan(fastMs)
      await expectServingAgain()
    })

    it('answers 503 when every connection is terminated by the server, as a restart does, then serves again', async () => {
      const load = traffic()
      await sleep(300)
      const from = Date.now()
      // What a PostgreSQL restart does to its clients: FATAL 57P01 on every backend.
      while (Date.now() - from < outageMs) {
        await sql`select pg_terminate_backend(pid) from pg_stat_activity
                where datname = ${databaseName} and pid <> pg_backend_pid()`.execute(direct)
        await sleep(50)
      }
      const list = await load.stop()
      expectOnly201Or503(list)
      const { slowest } = summary('backends terminated', list, from, Date.now())
      expect(slowest).toBeLessThan(fastMs)
      await expectServingAgain()
    })

    it('answers 503 to requests whose connection is cut mid-query, then serves again', async () => {
      // Hold every byte so requests are in the middle of their statement, then reset.
      proxy.stall()
      const inFlight = Array.from({ length: 8 }, () => order())
      await sleep(300)
      const cutAt = performance.now()
      proxy.drop()
      proxy.restore()
      const list = await Promise.all(inFlight)
      expectOnly201Or503(list)
      expect(list.filter((a) => a.status === 503).length).toBeGreaterThan(0)
      expect(performance.now() - cutAt).toBeLessThan(fastMs)
      await expectServingAgain()
    })

    it('answers 503 within seconds, not never, while the network swallows everything, then serves again', async () => {
      const load = traffic()
      await sleep(300)
      const from = Date.now()
      proxy.stall()
      // Longer than the client-side query limit, so requests must give up rather than wait.
      await sleep(outageMs + 2000)
      const to = Date.now()
      const ready = await readyz()
      proxy.restore()
      const list = await load.stop()
      expectOnly201Or503(list)
      const { during, slowest } = summary('network stalled', list, from, to)
      expect(ready).toBe(503)
      expect(during.filter((a) => a.status === 503).length).toBeGreaterThan(0)
      expect(slowest).toBeLessThan(fastMs)
      await expectServingAgain()
    })

    it('lost nothing: every 201 is stored, every 503 retried with its key makes one order, invariants hold', async () => {
      const placed = answers.filter((a) => a.status === 201)
      const { rows } = await sql<{ order_number: string }>`
      select order_number from orders where order_number = any(${placed.map((a) => a.orderNumber as string)}::text[])`.execute(
        direct,
      )
      expect(rows.length).toBe(placed.length)

      // A 503 may come after a commit whose answer was lost; retrying with the key is safe.
      const refused = answers.filter((a) => a.status === 503)
      let committedAnyway = 0
      for (const a of refused) {
        const retry = await order(a.key, a.seed)
        expect([200, 201]).toContain(retry.status)
        if (retry.status === 200) committedAnyway++
      }
      console.info(`${refused.length} refused with 503; ${committedAnyway} of them had committed`)
      const keys = [...new Set(answers.map((a) => `api:${a.key}`))]
      const count = await sql<{ n: string }>`
      select count(*) as n from orders where idempotency_key = any(${keys}::text[])`.execute(direct)
      expect(Number(count.rows[0]?.n)).toBe(keys.length)
      expect(await brokenInvariants(direct)).toEqual([])
    })
  },
)
