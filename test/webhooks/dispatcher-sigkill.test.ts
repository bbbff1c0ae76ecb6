import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Database } from '../../src/db/schema.ts'
import { startDispatcher } from '../../src/webhooks/dispatcher.ts'
import { checkWebhookUrl } from '../../src/webhooks/url-policy.ts'
import { testDatabase, usingPostgres } from '../helpers/context.ts'
import { waitFor } from '../helpers/insights.ts'
import {
  deliveryCounts,
  insertEndpoint,
  insertOrderEvents,
  type Receiver,
  startReceiver,
} from '../helpers/webhook-receiver.ts'

const child = fileURLToPath(new URL('../helpers/dispatch-until-killed.ts', import.meta.url))
// Long enough that the checks right after the kill still find the lease running on a loaded
// machine (2 s was not, at load 16 on two cores).
const leaseMs = 6000

// Killing a process that holds a server connection needs a server: PostgreSQL only.
describe.skipIf(!usingPostgres)('a dispatcher killed mid-delivery (PostgreSQL only)', () => {
  let db: Kysely<Database>
  let databaseUrl: string
  let drop: () => Promise<void>
  let receiver: Receiver
  beforeAll(async () => {
    const database = await testDatabase()
    databaseUrl = database.env.DATABASE_URL as string
    drop = database.drop
    db = connect({ databaseUrl, dataDir: 'unused', poolSize: 2 })
    await migrateToLatest(db)
  })
  afterAll(async () => {
    await receiver?.close()
    await db?.destroy()
    await drop?.()
  })

  it('retries the delivery cut by SIGKILL once its lease runs out; nothing is lost', async () => {
    // The 25th request stalls (no answer, ever); every other one is answered 200.
    let stalledId: string | undefined
    receiver = await startReceiver((r, n) => {
      if (n === 25) {
        stalledId = r.id
        return 'stall'
      }
      return 200
    })
    await insertEndpoint(db, receiver.url, ['order.placed', 'order.packed'])
    await insertOrderEvents(db, 1, 100, ['order.placed', 'order.packed'])

    const proc = spawn(process.execPath, [child], {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        LEASE_MS: String(leaseMs),
        TIMEOUT_MS: '1500',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const exited = new Promise((r) => proc.once('exit', r))
    try {
      await waitFor(async () => stalledId !== undefined, 30_000)
      // Let the child go on with other deliveries for a moment, then kill it mid-send.
      await new Promise((r) => setTimeout(r, 100))
    } finally {
      proc.kill('SIGKILL')
      await exited
    }
    const cut = stalledId as string
    const { rows: cutEvent } = await sql<{ id: string }>`
      select id::text as id from outbox where 'evt_' || public_id::text = ${cut}`.execute(db)
    const eventId = cutEvent[0]?.id as string
    expect(eventId).toBeDefined()
    const row = () =>
      db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where(sql<boolean>`event_id = ${eventId}`)
        .executeTakeFirstOrThrow()
    // The cut delivery is still pending under its lease, its attempt counted.
    const leased = await row()
    expect(leased.status).toBe('pending')
    expect(leased.attempts).toBe(1)
    expect(leased.next_attempt_at.getTime()).toBeGreaterThan(Date.now())
    const pendingAfterKill = (await deliveryCounts(db)).pending ?? 0
    expect(pendingAfterKill).toBeGreaterThan(0)

    // Another dispatcher (this process) takes over; the stalled receiver now answers.
    const started = Date.now()
    const survivor = startDispatcher(db, {
      pollMs: 20,
      leaseMs,
      timeoutMs: 1500,
      check: checkWebhookUrl,
      allowLocal: true,
      onError: () => {},
    })
    try {
      await waitFor(async () => (await deliveryCounts(db)).delivered === 200, 30_000, 50)
    } finally {
      await survivor.stop()
    }
    const done = await row()
    expect(done.status).toBe('delivered')
    expect(done.attempts).toBe(2)
    // Retried only after the lease ran out. The lease is taken when the batch is claimed, some
    // time before the request reaches the receiver (longer on a loaded machine), so the gap
    // between the two arrivals may be shorter than leaseMs: compare with the lease's expiry as
    // the database wrote it (the same clock as Date.now() on this machine), to the millisecond.
    const retried = receiver.received.filter((r) => r.id === cut)
    expect(retried).toHaveLength(2)
    expect(retried[0]?.answered).toBe(0)
    expect(retried[1]?.answered).toBe(200)
    expect(retried[1]?.at ?? 0).toBeGreaterThanOrEqual(leased.next_attempt_at.getTime() - 1)
    expect(leased.next_attempt_at.getTime() - (retried[0]?.at ?? 0)).toBeLessThanOrEqual(leaseMs)
    expect(Date.now() - started).toBeLessThan(30_000)
    // Every event arrived with a 2xx: nothing lost.
    expect(new Set(receiver.delivered().map((r) => r.id)).size).toBe(200)
  })
})
