import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { stateAddress } from '../../scripts/state-addresses.ts'
import { type App, buildApp } from '../../src/app.ts'
import { type Config, loadConfig } from '../../src/config.ts'
import { connect } from '../../src/db/connect.ts'
import type { MailerTuning } from '../../src/mail/plugin.ts'
import type { DispatcherTuning } from '../../src/webhooks/dispatcher-plugin.ts'

/**
 * A database of its own for one test file: a fresh database on the server named by
 * TEST_DATABASE_URL, or an in-memory PGlite when that is not set.
 */
export async function testDatabase(): Promise<{
  env: Record<string, string>
  drop: () => Promise<void>
}> {
  const serverUrl = process.env.TEST_DATABASE_URL
  if (!serverUrl) return { env: { DATA_DIR: 'memory://' }, drop: async () => {} }
  const name = `test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    env: { DATABASE_URL: url.toString() },
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl })
      await c.connect()
      await c.query(`drop database if exists ${name} with (force)`)
      await c.end()
    },
  }
}

export const usingPostgres = Boolean(process.env.TEST_DATABASE_URL)

/**
 * A database for a one-shot command's tests (`npm run staff`, `npm run mail`), which opens the
 * database itself from `env`: testDatabase's on PostgreSQL; on PGlite an embedded one in a new
 * temporary folder named `<prefix>…` (DATA_DIR; the command and an app open it one at a time).
 * `drop` drops the database or removes the folder.
 */
export async function commandTestDatabase(
  prefix: string,
): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  const db = await testDatabase()
  if (usingPostgres) return db
  const dataDir = mkdtempSync(path.join(tmpdir(), prefix))
  return {
    env: { DATA_DIR: dataDir },
    drop: async () => rmSync(dataDir, { recursive: true, force: true }),
  }
}

/**
 * A connection (one, no app, nothing migrated) to a database of its own (testDatabase), for a
 * test of migrations: `close` ends it and drops the database.
 */
export async function unmigratedDatabase(): Promise<{
  db: ReturnType<typeof connect>
  close: () => Promise<void>
}> {
  const database = await testDatabase()
  const db = connect({
    databaseUrl: database.env.DATABASE_URL,
    dataDir: database.env.DATA_DIR ?? 'memory://',
    poolSize: 1,
  })
  return {
    db,
    close: async () => {
      await db.destroy()
      await database.drop()
    },
  }
}

export interface TestApp {
  app: App
  config: Config
  /** Raw log output, one JSON line per entry (empty unless built with `logs: true`). */
  output: string[]
  /** The output's lines, parsed. */
  lines: () => Record<string, unknown>[]
  close: () => Promise<void>
}

/**
 * The real app on its own database, `env` over the test defaults (LOG_LEVEL silent, or info
 * with `logs: true`, which writes the log into `output` instead of stdout). `close` closes it
 * and drops the database.
 */
export async function buildTestApp(
  env: Record<string, string> = {},
  options: {
    salesFold?: boolean
    logs?: boolean
    webhookDispatcher?: boolean | DispatcherTuning
    mailer?: boolean | MailerTuning
  } = {},
): Promise<TestApp> {
  const db = await testDatabase()
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: options.logs ? 'info' : 'silent',
    // Off unless a test asks: on a loaded machine (CI beside other work, load 15+ on two cores)
    // the event loop lags past the 1 s default and the app sheds a test's request with its own
    // 503, which is what it should do in production and not what any test is about.
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...db.env,
    ...env,
  })
  const output: string[] = []
  const logStream = options.logs ? { write: (s: string) => void output.push(s) } : undefined
  const app = await buildApp({
    config,
    salesFold: options.salesFold ?? false,
    // Off unless a test asks: the dispatcher would mark other tests' outbox rows fanned out.
    webhookDispatcher: options.webhookDispatcher ?? false,
    mailer: options.mailer ?? true,
    logStream,
  })
  await app.ready()
  return {
    app,
    config,
    output,
    lines: () => output.map((l) => JSON.parse(l) as Record<string, unknown>),
    close: async () => {
      await app.close()
      await db.drop()
    },
  }
}

/**
 * `count` instances of the real app on ONE fresh database, as in a scale-out, built one after
 * the other (each migrates and seeds on start, idempotently), with the sales fold running
 * unless `salesFold: false`. An in-memory PGlite cannot be shared, so this needs
 * TEST_DATABASE_URL (throws without it). When one fails to start, those started are closed
 * and the database dropped before the error is rethrown. `close` closes them all, then drops it.
 */
export async function appsOnOneDatabase(
  count: number,
  env: Record<string, string> = {},
  options: {
    salesFold?: boolean
    webhookDispatcher?: boolean | DispatcherTuning
    mailer?: boolean | MailerTuning
  } = {},
): Promise<{ apps: App[]; databaseUrl: string; close: () => Promise<void> }> {
  const database = await testDatabase()
  const databaseUrl = database.env.DATABASE_URL
  if (!databaseUrl) throw new Error('appsOnOneDatabase needs TEST_DATABASE_URL')
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...database.env, ...env })
  const apps: App[] = []
  const close = async () => {
    await Promise.all(apps.map((a) => a.close()))
    await database.drop()
  }
  try {
    for (let i = 0; i < count; i++) {
      const app = await buildApp({
        config,
        salesFold: options.salesFold ?? true,
        webhookDispatcher: options.webhookDispatcher ?? false,
        mailer: options.mailer ?? true,
      })
      await app.ready()
      apps.push(app)
    }
  } catch (err) {
    await close()
    throw err
  }
  return { apps, databaseUrl, close }
}

export const customer = {
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  address: '12 Analytical Way',
  city: 'Austin',
  state: 'TX',
  zip: '78701',
}

/**
 * `customer` shipped to `state`, a USPS code: to a city and ZIP code of that state
 * (scripts/state-addresses.ts; Texas: customer's own, Austin 78701), as an order whose ZIP is
 * another state's is refused.
 */
export function customerIn(state: string) {
  if (state === customer.state) return { ...customer }
  const { city, zip } = stateAddress(state)
  return { ...customer, city, state, zip }
}

/** How many orders the database holds. */
export async function orderCount(db: App['db']): Promise<number> {
  const { n } = await db
    .selectFrom('orders')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return Number(n)
}

/** Reads and sets a product's stock straight in the database. */
export function stock(db: () => App['db']) {
  return {
    set: (sku: string, units: number) =>
      db().updateTable('products').set({ stock: units }).where('sku', '=', sku).execute(),
    of: async (sku: string) =>
      (
        await db()
          .selectFrom('products')
          .select('stock')
          .where('sku', '=', sku)
          .executeTakeFirstOrThrow()
      ).stock,
  }
}

/** POST /orders as a browser sends the order form: urlencoded `fields`, asking for HTML. */
export const postOrderForm = (app: App, fields: Record<string, string>) =>
  app.inject({
    method: 'POST',
    url: '/orders',
    headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  })

/** Reads and sets a product's price, in cents, straight in the database (as another instance's change). */
export function prices(db: () => App['db']) {
  return {
    set: (sku: string, cents: number) =>
      db().updateTable('products').set({ price_cents: cents }).where('sku', '=', sku).execute(),
    of: async (sku: string) =>
      (
        await db()
          .selectFrom('products')
          .select('price_cents')
          .where('sku', '=', sku)
          .executeTakeFirstOrThrow()
      ).price_cents,
  }
}

/** How many rows `table` holds now (a test's check that a request made, or made no, row). */
export async function rowCount(app: App, table: 'orders' | 'webhook_endpoints'): Promise<number> {
  const row = await app.db
    .selectFrom(table)
    .select((e) => e.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}
