import { spawnSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { PendingMigrationsError, ServiceRoleMissingError } from '../../src/db/privileges.ts'
import { customer, testDatabase, usingPostgres } from '../helpers/context.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

// Roles are the server's, not a database's: each run makes its own, and drops them after.
const suffix = randomBytes(4).toString('hex')
const ownerRole = `orders_owner_${suffix}`
const appRole = `orders_app_${suffix}`
const root = fileURLToPath(new URL('../..', import.meta.url))
const node = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url))
const migrations = readdirSync(`${root}/migrations`)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort()
const lastMigration = migrations.at(-1) ?? ''

const databases: Awaited<ReturnType<typeof testDatabase>>[] = []
const serverUrl = process.env.TEST_DATABASE_URL ?? ''

async function asSuperuser(sql: string, database?: string) {
  const url = new URL(serverUrl)
  if (database) url.pathname = `/${database}`
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  try {
    return await client.query(sql)
  } finally {
    await client.end()
  }
}

/** A fresh database owned by the owner role; its URLs as the owner and as the app role. */
async function ownedDatabase() {
  const db = await testDatabase()
  databases.push(db)
  const url = new URL(db.env.DATABASE_URL ?? '')
  const name = url.pathname.slice(1)
  // The database's owner owns its public schema (pg_database_owner, PostgreSQL 15+), so the
  // owner role may create there; the app role, like PUBLIC, may not.
  await asSuperuser(`alter database ${name} owner to ${ownerRole}`)
  await asSuperuser(`alter schema public owner to ${ownerRole}`, name)
  await asSuperuser(`revoke create on schema public from public`, name)
  const as = (role: string) => {
    const u = new URL(url)
    u.username = role
    return u.toString()
  }
  return { name, owner: as(ownerRole), app: as(appRole) }
}

/** Warnings and errors the apps logged (the fold and the dispatcher report theirs there). */
const problems: string[] = []

/** The app with its background work (sales fold, webhook dispatcher) on, as in production. */
const start = async (env: Record<string, string>) => {
  const app = await buildApp({
    config: loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_MAX: '0',
      // About privileges, not load: a busy test machine must not turn a request into a 503.
      MAX_EVENT_LOOP_DELAY_MS: '0',
      DATABASE_CONNECT_TIMEOUT_MS: '10000',
      ...env,
    }),
    salesFold: true,
    webhookDispatcher: true,
    logStream: { write: (line: string) => void problems.push(line) },
  })
  await app.ready()
  return app
}

const startError = async (env: Record<string, string>) => {
  let app: App | undefined
  try {
    app = await start(env)
  } catch (err) {
    return err as Error
  }
  await app.close()
  throw new Error('the app started')
}

const migrateCli = (env: Record<string, string>) =>
  spawnSync(node, ['src/db/migrate-cli.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  })

async function placeOrderAndWork(app: App) {
  const placed = await app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: { 'idempotency-key': randomUUID() },
    payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer },
  })
  expect(placed.statusCode, placed.body).toBe(201)
  const { orderNumber } = placed.json()
  // The back office: an admin's token, the order list, a change of status (and its history).
  const token = await addToken(app, await addStaff(app, `admin-${suffix}@example.com`, 'admin'))
  const auth = { authorization: `Bearer ${token}` }
  const list = await app.inject({ url: '/api/admin/orders', headers: auth })
  expect(list.statusCode, list.body).toBe(200)
  expect(list.json().orders.map((o: { orderNumber: string }) => o.orderNumber)).toContain(
    orderNumber,
  )
  const moved = await app.inject({
    method: 'POST',
    url: `/api/admin/orders/${orderNumber}/transitions`,
    headers: { ...auth, 'if-match': '"1"' },
    payload: { to: 'packed' },
  })
  expect(moved.statusCode, moved.body).toBe(200)
  expect(moved.json().status).toBe('packed')
  const restock = await app.inject({
    method: 'POST',
    url: '/api/admin/products/MUG-001/restock',
    headers: auth,
    payload: { units: 5 },
  })
  expect(restock.statusCode, restock.body).toBe(200)
  // The sales fold, running as this role too, folds the order into the insights.
  await expect
    .poll(
      async () =>
        (await app.inject({ url: '/api/admin/insights', headers: auth })).json().orders as number,
      { timeout: 10_000 },
    )
    .toBeGreaterThanOrEqual(1)
  expect(problems).toEqual([])
}

async function expectDenied(url: string, statement: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await expect(client.query(statement)).rejects.toMatchObject({ code: '42501' })
  } finally {
    await client.end()
  }
}

beforeAll(async () => {
  if (!usingPostgres) return
  await asSuperuser(`create role ${ownerRole} login`)
  await asSuperuser(`create role ${appRole} login`)
})
afterAll(async () => {
  if (!usingPostgres) return
  for (const db of databases) await db.drop()
  await asSuperuser(`drop role if exists ${appRole}`)
  await asSuperuser(`drop role if exists ${ownerRole}`)
})

describe.skipIf(!usingPostgres)(
  'least privilege: migrations as the owner, serving as the app role',
  () => {
    let urls: Awaited<ReturnType<typeof ownedDatabase>>

    it('`npm run migrate` with MIGRATION_DATABASE_URL migrates as the owner and grants the app role', async () => {
      urls = await ownedDatabase()
      const run = migrateCli({ DATABASE_URL: urls.app, MIGRATION_DATABASE_URL: urls.owner })
      expect(run.stderr).toBe('')
      expect(run.stdout).toBe(
        `Applied: ${migrations.join(', ')}\nGranted ${appRole} (the user in DATABASE_URL) what serving needs.\n`,
      )
      const { rows } = await asSuperuser(
        `select tableowner from pg_tables where schemaname = 'public' and tablename = 'orders'`,
        urls.name,
      )
      expect(rows).toEqual([{ tableowner: ownerRole }])
    }, 120_000)

    it('the service, as the app role only, starts without migrating, takes orders and runs the back office', async () => {
      const app = await start({ DATABASE_URL: urls.app })
      try {
        await placeOrderAndWork(app)
      } finally {
        await app.close()
      }
    }, 60_000)

    it.each([
      ['drop table orders'],
      ['alter table orders add column note text'],
      ['create table scratch (id int)'],
      ['truncate order_lines'],
      ['create index on orders (created_at)'],
      ["insert into kysely_migration (name, timestamp) values ('9999_x', '')"],
      ['select * from kysely_migration_lock for update'],
    ])('the app role may not: %s', async (statement) => {
      await expectDenied(urls.app, statement)
    })

    it('a pending migration stops the start of the app role, naming it, and nothing is migrated', async () => {
      await asSuperuser(`delete from kysely_migration where name = '${lastMigration}'`, urls.name)
      try {
        const err = await startError({ DATABASE_URL: urls.app })
        expect(err).toBeInstanceOf(PendingMigrationsError)
        expect(err.message).toMatch(`1 migration is pending (${lastMigration})`)
        expect(err.message).toMatch(/MIGRATION_DATABASE_URL/)
        const { rows } = await asSuperuser(
          `select count(*)::int as n from kysely_migration`,
          urls.name,
        )
        expect(rows).toEqual([{ n: migrations.length - 1 }])
      } finally {
        await asSuperuser(
          `insert into kysely_migration (name, timestamp) values ('${lastMigration}', now()::text)`,
          urls.name,
        )
      }
    }, 60_000)

    it('given both URLs, the service migrates a fresh database as the owner and serves as the app role', async () => {
      const fresh = await ownedDatabase()
      const app = await start({ DATABASE_URL: fresh.app, MIGRATION_DATABASE_URL: fresh.owner })
      try {
        await placeOrderAndWork(app)
      } finally {
        await app.close()
      }
      await expectDenied(fresh.app, 'drop table order_lines')
      const { rows } = await asSuperuser(
        `select count(*)::int as n from pg_tables where schemaname = 'public' and tableowner <> '${ownerRole}'`,
        fresh.name,
      )
      expect(rows).toEqual([{ n: 0 }])
    }, 120_000)

    it('a service role that does not exist stops the start, saying to create it', async () => {
      const fresh = await ownedDatabase()
      const missing = new URL(fresh.app)
      missing.username = `nobody_${suffix}`
      const err = await startError({
        DATABASE_URL: missing.toString(),
        MIGRATION_DATABASE_URL: fresh.owner,
      })
      expect(err).toBeInstanceOf(ServiceRoleMissingError)
      expect(err.message).toMatch(/"nobody_\w+" \(the user in DATABASE_URL\) does not exist/)
      // Checked before any migration: the database is as it was, not migrated and left ungranted.
      const migrate = migrateCli({
        DATABASE_URL: missing.toString(),
        MIGRATION_DATABASE_URL: fresh.owner,
      })
      expect(migrate.status).toBe(1)
      expect(migrate.stdout).toBe('')
      expect(migrate.stderr).toMatch(/^Migration failed: The service's database role "nobody_\w+"/)
      const { rows } = await asSuperuser(
        `select count(*)::int as n from pg_tables where schemaname = 'public'`,
        fresh.name,
      )
      expect(rows).toEqual([{ n: 0 }])
    }, 120_000)
  },
)
