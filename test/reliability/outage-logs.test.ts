import { type DatabaseConnection, PGliteDriver } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type App, buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { outageLog, retryDelayMs } from '../../src/plugins/outage-log.ts'
import { testDatabase, usingPostgres } from '../helpers/context.ts'
import { faultyProxy, sleep } from '../helpers/reliability.ts'

vi.setConfig({ testTimeout: 60_000 })

type Line = Record<string, unknown> & { msg?: string; level?: number }

/**
 * A database that stops answering, for the app under test: on PostgreSQL a proxy that refuses
 * and resets every connection (faultyProxy); PGlite has no network, so its query and
 * transaction methods reject while broken, as a closed one would.
 */
async function breakableDatabase() {
  const database = await testDatabase()
  if (usingPostgres) {
    const real = new URL(database.env.DATABASE_URL as string)
    const proxy = await faultyProxy({ host: real.hostname, port: Number(real.port || 5432) })
    real.hostname = '127.0.0.1'
    real.port = String(proxy.port)
    return {
      env: { ...database.env, DATABASE_URL: real.toString() },
      cut: () => proxy.cut(),
      restore: () => proxy.restore(),
      close: async () => {
        await proxy.close()
        await database.drop()
      },
    }
  }
  // At Kysely's driver, not PGlite's methods: PGlite calls its own while it holds its lock.
  let broken = false
  const refuse = () => Promise.reject(new Error('the database is unreachable (test)'))
  const driver = PGliteDriver.prototype
  const acquire = driver.acquireConnection
  const patched = new WeakSet<DatabaseConnection>()
  driver.acquireConnection = async function (this: PGliteDriver, ...args) {
    const connection = await acquire.apply(this, args)
    if (!patched.has(connection)) {
      patched.add(connection)
      const execute = connection.executeQuery.bind(connection)
      // Statements fail, in a transaction too; BEGIN, COMMIT and ROLLBACK go as usual.
      connection.executeQuery = (query) => (broken ? refuse() : execute(query))
    }
    return connection
  }
  return {
    env: database.env,
    cut: () => (broken = true),
    restore: () => (broken = false),
    close: async () => {
      driver.acquireConnection = acquire
      await database.drop()
    },
  }
}

describe('a database outage in the logs', () => {
  let app: App
  let db: Awaited<ReturnType<typeof breakableDatabase>>
  const lines: Line[] = []

  beforeAll(async () => {
    db = await breakableDatabase()
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      FOLD_INTERVAL_MS: '50',
      WEBHOOKS_POLL_MS: '50',
      ...db.env,
    })
    const logStream = { write: (s: string) => void lines.push(JSON.parse(s) as Line) }
    app = await buildApp({ config, logStream, salesFold: true, webhookDispatcher: true })
    await app.ready()
  })
  afterAll(async () => {
    db?.restore()
    await app?.close()
    await db?.close()
  })

  it('says so once per loop, retries every few seconds, and says when it is over', async () => {
    await sleep(300)
    const before = lines.length
    const fold0 = app.salesFoldStats.failures
    const dispatch0 = app.webhookDispatcher.stats.pollFailures
    const cutAt = Date.now()
    db.cut()
    // Each loop's pass under way when the cut came may still succeed (slow on a busy machine):
    // the outage starts for each at its first failure; 3 s of it are watched after both.
    while (
      (app.salesFoldStats.failures === fold0 ||
        app.webhookDispatcher.stats.pollFailures === dispatch0) &&
      Date.now() - cutAt < 15_000
    )
      await sleep(20)
    await sleep(3000)
    const cutMs = Date.now() - cutAt
    console.log(
      JSON.stringify(
        lines
          .slice(before - 5)
          .map((l) => [l.level, l.msg, (l.err as { message?: string })?.message]),
      ),
      app.salesFoldStats,
      fold0,
      app.webhookDispatcher.stats,
    )
    const during = lines.slice(before)
    const warnings = (what: string) =>
      during.filter((l) => l.level === 40 && l.msg?.startsWith(what)).map((l) => l.msg)
    // Before: a warning with a stack for every failed pass, every 50 ms (56 in 3 s).
    expect(warnings('folding sales')).toEqual(['folding sales failed; will retry'])
    expect(warnings('webhook dispatch')).toEqual(['webhook dispatch failed; will retry'])
    expect(during.find((l) => l.msg === 'folding sales failed; will retry')?.err).toMatchObject({
      message: expect.any(String),
    })
    // Passes 50 ms after the first failure, then 1 s, 2 s, 4 s and every 5 s (retryDelayMs):
    // 3 in the first 3 s, not 60.
    const most = 3 + Math.ceil(cutMs / 4000)
    expect(app.salesFoldStats.failures - fold0).toBeLessThanOrEqual(most)
    expect(app.webhookDispatcher.stats.pollFailures - dispatch0).toBeLessThanOrEqual(most)

    const restoredAt = Date.now()
    db.restore()
    const recovered = (what: string) =>
      lines.find((l) => l.msg === `${what} recovered` && l.level === 30)
    while (
      !(recovered('folding sales') && recovered('webhook dispatch')) &&
      Date.now() - restoredAt < 15_000
    )
      await sleep(50)
    // Back within the 5 s between retries, plus room for a busy machine.
    expect(Date.now() - restoredAt).toBeLessThan(8000)
    expect(recovered('folding sales')).toMatchObject({ failures: expect.any(Number) })
    expect(recovered('webhook dispatch')?.outageMs).toBeGreaterThanOrEqual(2500)
  })
})

describe('outageLog', () => {
  it('logs the first failure, then one line a minute with the count, then the recovery', () => {
    const logged: [string, unknown, string][] = []
    const log = {
      warn: (fields: unknown, msg: string) => logged.push(['warn', fields, msg]),
      info: (fields: unknown, msg: string) => logged.push(['info', fields, msg]),
    } as unknown as Parameters<typeof outageLog>[0]
    let now = 0
    const outage = outageLog(log, 'folding sales', () => now)
    const err = new Error('refused')
    outage.succeeded()
    for (; now < 150_000; now += 250) outage.failed(err)
    outage.succeeded()
    outage.succeeded()
    expect(logged).toEqual([
      ['warn', { err }, 'folding sales failed; will retry'],
      ['warn', { err, failures: 240, outageMs: 60_000 }, 'folding sales still failing'],
      ['warn', { err, failures: 240, outageMs: 120_000 }, 'folding sales still failing'],
      ['info', { failures: 600, outageMs: 150_000 }, 'folding sales recovered'],
    ])
  })

  it('waits the interval after one failure, then 1, 2, 4 and 5 s', () => {
    expect([0, 1, 2, 3, 4, 5, 30].map((n) => retryDelayMs(200, n))).toEqual([
      200, 200, 1000, 2000, 4000, 5000, 5000,
    ])
    expect(retryDelayMs(8000, 3)).toBe(8000)
  })
})
