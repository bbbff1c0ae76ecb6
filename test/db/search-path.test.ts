import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { customer, testDatabase, usingPostgres } from '../helpers/context.ts'

// A schema of its own chosen through the URL (`options=-c search_path=shop`), beside a `public`
// that already holds the service's tables: the migrator must look in the schema it migrates.

const root = fileURLToPath(new URL('../..', import.meta.url))
const node = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url))
const migrations = readdirSync(`${root}/migrations`)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort()

let database: Awaited<ReturnType<typeof testDatabase>> | undefined
let plainUrl = ''

/** DATABASE_URL with the connection's search_path set to `schema`. */
const inSchema = (schema: string) => {
  const url = new URL(plainUrl)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return url.toString()
}

const migrateCli = (databaseUrl: string) =>
  spawnSync(node, ['src/db/migrate-cli.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl },
    encoding: 'utf8',
    timeout: 120_000,
  })

async function query(statement: string) {
  const client = new pg.Client({ connectionString: plainUrl })
  await client.connect()
  try {
    return (await client.query(statement)).rows
  } finally {
    await client.end()
  }
}

beforeAll(async () => {
  if (!usingPostgres) return
  database = await testDatabase()
  plainUrl = database.env.DATABASE_URL ?? ''
})
afterAll(async () => {
  await database?.drop()
})

describe.skipIf(!usingPostgres)('a schema chosen by the search_path in DATABASE_URL', () => {
  it('`npm run migrate` migrates it though public already holds the tables', async () => {
    const first = migrateCli(plainUrl)
    expect(first.stderr).toBe('')
    await query('create schema shop')
    const run = migrateCli(inSchema('shop'))
    expect(run.stderr).toBe('')
    expect(run.stdout).toBe(`Applied: ${migrations.join(', ')}\n`)
    const tables = await query(
      `select schemaname, count(*)::int as n from pg_tables
        where tablename in ('orders', 'kysely_migration') group by schemaname order by schemaname`,
    )
    expect(tables).toEqual([
      { schemaname: 'public', n: 2 },
      { schemaname: 'shop', n: 2 },
    ])
    expect(migrateCli(inSchema('shop')).stdout).toBe('Already up to date.\n')
  }, 240_000)

  it('the service serves from it: an order goes into shop.orders, not public.orders', async () => {
    const app = await buildApp({
      config: loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        MAX_EVENT_LOOP_DELAY_MS: '0',
        DATABASE_URL: inSchema('shop'),
      }),
    })
    try {
      const placed = await app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': randomUUID() },
        payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer },
      })
      expect(placed.statusCode, placed.body).toBe(201)
    } finally {
      await app.close()
    }
    const counts = await query(
      `select (select count(*)::int from shop.orders) as shop,
              (select count(*)::int from public.orders) as public`,
    )
    expect(counts).toEqual([{ shop: 1, public: 0 }])
  }, 120_000)

  it('refuses to make a second set of tables ahead of the schema that holds them', async () => {
    await query('create schema ahead')
    const run = migrateCli(inSchema('ahead,public'))
    expect(run.status).toBe(1)
    expect(run.stderr).toBe(
      "Migration failed: The database connection's search_path (ahead,public) finds this service's tables in schema public but would create new ones in ahead, the first of it that exists: set search_path to public to keep those tables, or to ahead alone to migrate a new set there, then run this again.\n",
    )
    expect(await query(`select tablename from pg_tables where schemaname = 'ahead'`)).toEqual([])
  }, 120_000)

  it('a search_path naming no schema that exists is one line saying to create it', () => {
    const run = migrateCli(inSchema('nowhere'))
    expect(run.status).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(
      "Migration failed: The database connection's search_path (nowhere) names no schema that exists in this database: create it first (CREATE SCHEMA nowhere, owned by the role that migrates), or correct search_path in the URL's options, then run this again.\n",
    )
  }, 120_000)
})
