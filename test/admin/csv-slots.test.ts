import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ExportsBusy, exportOrderCsv, exportSlots } from '../../src/admin/csv.ts'
import { poolOf } from '../../src/db/connect.ts'
import { buildTestApp, type TestApp, usingPostgres } from '../helpers/context.ts'
import { apiOrder } from '../helpers/reliability.ts'
import { addStaff, signIn } from '../helpers/staff.ts'
import { insertOrders } from './seed.ts'

// On a PostgreSQL server each export holds a pool connection while its client reads: slow
// downloads, as many as the pool's connections, once left none to place an order on (a newcomer's
// review: three `curl --limit-rate 2k` on a pool of 3, and every order a 503).

let t: TestApp
let cookie: string

beforeAll(async () => {
  if (!usingPostgres) return
  t = await buildTestApp({ DATABASE_POOL_SIZE: '2' })
  await addStaff(t.app, 'slots@example.com')
  ;({ cookie } = await signIn(t.app, 'slots@example.com'))
  await insertOrders(t.app.db, 40, { start: new Date('2026-03-01T00:00:00Z') })
})

afterAll(async () => {
  await t?.close()
})

describe.skipIf(!usingPostgres)('CSV exports on PostgreSQL', () => {
  it('take at most half the pool: one more is 503 with Retry-After, and orders are still placed', async () => {
    const pool = poolOf(t.app.db)
    if (!pool) throw new Error('no pool')
    expect(exportSlots(pool)).toBe(1)
    // Started, not read: what a client reading slowly leaves behind.
    const held = await exportOrderCsv(t.app.db, {})
    await expect(exportOrderCsv(t.app.db, { state: 'CA' })).rejects.toBeInstanceOf(ExportsBusy)
    const busy = await t.app.inject({ url: '/admin/orders.csv', headers: { cookie } })
    expect(busy.statusCode).toBe(503)
    expect(busy.headers['retry-after']).toBe('30')
    expect(busy.body).toContain('already being downloaded')
    const order = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: apiOrder(1),
    })
    expect(order.statusCode).toBe(201)
    // The slot comes back when the held export is returned (the client went away).
    await held.return?.()
    const again = await t.app.inject({ url: '/admin/orders.csv', headers: { cookie } })
    expect(again.statusCode).toBe(200)
    expect(again.body.split('\r\n').length).toBe(1 + 41 + 1)
  })

  it('gives the slot back when an export is read to its end', async () => {
    for (let i = 0; i < 3; i++) {
      const done = await t.app.inject({ url: '/admin/orders.csv?state=TX', headers: { cookie } })
      expect(done.statusCode).toBe(200)
    }
  })
})
