import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { connect } from '../../src/db/connect.ts'
import { testDatabase, usingPostgres } from '../helpers/context.ts'
import { startServer } from '../helpers/server.ts'
import { shutdownUnderLoad } from '../helpers/shutdown-load.ts'

/**
 * 16 clients place orders, each on a connection of its own, until the port is closed; SIGTERM
 * once 100 are placed. Every request must be answered or refused, none reset, and every
 * acknowledged order stored. The listening socket's queue holds connections the kernel has
 * completed but the process has not accepted yet, and closing the socket resets them: closing
 * the port at the signal reset up to 14 requests per shutdown, written up to 400 ms before it,
 * and two workers that answered what they held before both had closed it, up to 7
 * (docs/operations.md, "Shutdown").
 */
describe('shutdown under load on fresh connections', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ops-shutdown-drain-'))
  const drops: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const drop of drops) await drop()
    rmSync(dir, { recursive: true, force: true })
  })

  async function check(workers: number) {
    const db = await testDatabase()
    drops.push(db.drop)
    const dataDir = join(dir, `data-${workers}`)
    const dbEnv = db.env.DATABASE_URL ? db.env : { DATA_DIR: dataDir }
    const server = await startServer({
      ...dbEnv,
      RATE_LIMIT_MAX: '0',
      WEB_CONCURRENCY: String(workers),
    })
    const { outcomes, signalledAt, exit } = await shutdownUnderLoad(server, { workers })

    const reset = outcomes
      .filter((o) => typeof o.status === 'string' && o.status !== 'ECONNREFUSED')
      .map((o) => ({
        status: o.status,
        writtenBeforeSignalMs: o.writtenAt ? signalledAt - o.writtenAt : null,
      }))
    expect(reset).toEqual([])
    expect(exit).toEqual({ code: 0, signal: null })
    const acks = outcomes.filter((o) => o.status === 201)
    expect(acks.length).toBeGreaterThanOrEqual(100)
    const refused = outcomes.filter((o) => typeof o.status === 'number' && o.status !== 201)
    expect(refused.length).toBeGreaterThan(0)
    for (const o of refused)
      expect(o).toMatchObject({ status: 503, retryAfter: '5', connection: 'close' })

    const stored = connect({ databaseUrl: db.env.DATABASE_URL, dataDir })
    try {
      const rows = await stored.selectFrom('orders').select('order_number').execute()
      const numbers = new Set(rows.map((r) => r.order_number))
      expect(acks.filter((o) => !numbers.has(o.orderNumber as string))).toEqual([])
    } finally {
      await stored.destroy()
    }
  }

  it('on SIGTERM every request is answered (201, or 503 with Retry-After and Connection: close) or refused, none reset', async () => {
    await check(1)
  })

  it.skipIf(!usingPostgres)('so too with two workers (WEB_CONCURRENCY=2)', async () => {
    await check(2)
  })
})
