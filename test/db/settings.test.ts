import { randomBytes, randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { foldSales } from '../../src/insights/sales-fold.ts'
import { customer, usingPostgres } from '../helpers/context.ts'

/**
 * Settings a database or a role may carry that change how PostgreSQL writes values as text
 * (which pg parses back) or how statements behave. Each set goes on a fresh database AND on the
 * role the service signs in as; the service must answer every order exactly as on defaults.
 */
const matrix: Record<string, Record<string, string>> = {
  'datestyle SQL, DMY': { datestyle: 'SQL, DMY' },
  'datestyle German, DMY, intervalstyle sql_standard': {
    datestyle: 'German, DMY',
    intervalstyle: 'sql_standard',
  },
  'datestyle Postgres, YMD, intervalstyle iso_8601': {
    datestyle: 'Postgres, YMD',
    intervalstyle: 'iso_8601',
  },
  'time zone +05:45, extra_float_digits -15': {
    timezone: 'Asia/Kathmandu',
    extra_float_digits: '-15',
  },
  'serializable, read-only by default, lock_timeout 1ms': {
    default_transaction_isolation: 'serializable',
    default_transaction_read_only: 'on',
    lock_timeout: '1ms',
  },
  'bytea escape, seqscan on': { bytea_output: 'escape', enable_seqscan: 'on' },
}

const serverUrl = process.env.TEST_DATABASE_URL ?? ''
const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function admin<T>(run: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: serverUrl })
  await c.connect()
  try {
    return await run(c)
  } finally {
    await c.end()
  }
}

/** A fresh database owned by a fresh role, both carrying `settings`; the role's URL. */
async function oddDatabase(settings: Record<string, string>): Promise<string> {
  const name = `odd_${randomBytes(5).toString('hex')}`
  await admin(async (c) => {
    await c.query(`create role ${name} login`)
    await c.query(`create database ${name} owner ${name}`)
    for (const [key, value] of Object.entries(settings)) {
      await c.query(`alter database ${name} set ${key} = '${value}'`)
      await c.query(`alter role ${name} set ${key} = '${value}'`)
    }
  })
  cleanups.push(() =>
    admin(async (c) => {
      await c.query(`drop database if exists ${name} with (force)`)
      await c.query(`drop role if exists ${name}`)
    }),
  )
  const url = new URL(serverUrl)
  url.username = name
  url.pathname = `/${name}`
  return url.toString()
}

describe.skipIf(!usingPostgres)('whatever the database and role settings (PostgreSQL)', () => {
  for (const [name, settings] of Object.entries(matrix)) {
    it(`places, reads and counts an order: ${name}`, async () => {
      const url = await oddDatabase(settings)
      // The settings really are in force for a plain session of that role.
      const seen = await new pg.Client({ connectionString: url })
      await seen.connect()
      const [key, value] = Object.entries(settings)[0] as [string, string]
      const shown: string = (await seen.query('select current_setting($1) as v', [key])).rows[0].v
      await seen.end()
      expect(shown.toLowerCase().replaceAll(' ', '')).toBe(value.toLowerCase().replaceAll(' ', ''))

      const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: url })
      const app = await buildApp({ config, salesFold: false })
      cleanups.push(() => app.close())
      await app.ready()

      const before = Date.now()
      const idempotencyKey = randomUUID()
      const payload = { items: [{ sku: 'MUG-001', quantity: 2 }], customer }
      const placed = await app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': idempotencyKey },
        payload,
      })
      expect(placed.statusCode).toBe(201)
      const order = placed.json()
      const createdAt = Date.parse(order.createdAt)
      expect(createdAt).toBeGreaterThanOrEqual(before - 60_000)
      expect(createdAt).toBeLessThanOrEqual(Date.now() + 60_000)
      expect(order.totalCents).toBe(2 * order.items[0].unitPriceCents)

      const replay = await app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': idempotencyKey },
        payload,
      })
      expect(replay.statusCode).toBe(200)
      expect(replay.json()).toEqual(order)

      expect(await foldSales(app.db)).toBe(1)
      const read = await app.inject({ url: `/api/orders/${order.orderNumber}` })
      expect(read.json()).toEqual(order)
      const page = await app.inject({
        url: `/orders/${order.orderNumber}`,
        headers: { accept: 'text/html' },
      })
      expect(page.statusCode).toBe(200)

      const top = await app.inject({ url: '/api/states/TX/top-products' })
      expect(top.json().products).toEqual([expect.objectContaining({ sku: 'MUG-001', units: 2 })])
      const metrics = await app.inject({ url: '/metrics' })
      expect(metrics.body).toMatch(/^insights_freshness_seconds 0$/m)
    }, 60_000)
  }
})
