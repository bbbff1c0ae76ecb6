import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { buildApp } from '../../src/app.ts'
import { type Config, loadConfig } from '../../src/config.ts'

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

export interface TestApp {
  app: FastifyInstance
  config: Config
  close: () => Promise<void>
}

/** The real app on its own database; `close` closes it and drops the database. */
export async function buildTestApp(
  env: Record<string, string> = {},
  options: { salesFold?: boolean } = {},
): Promise<TestApp> {
  const db = await testDatabase()
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...db.env, ...env })
  const app = await buildApp({ config, salesFold: options.salesFold ?? false })
  await app.ready()
  return {
    app: app as unknown as FastifyInstance,
    config,
    close: async () => {
      await app.close()
      await db.drop()
    },
  }
}

export const customer = {
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  address: '12 Analytical Way',
  city: 'Austin',
  state: 'TX',
  zip: '78701',
}

/** Reads and sets a product's stock straight in the database. */
export function stock(db: () => FastifyInstance['db']) {
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
