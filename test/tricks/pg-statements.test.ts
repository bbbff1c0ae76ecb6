import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, PLAN_EACH_RUN } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Database } from '../../src/db/schema.ts'
import { testDatabase, usingPostgres } from '../helpers/context.ts'

// docs/tricks.md, "pg: statements named": src/db/connect.ts wraps each pooled client's `query`
// so that every DML text Kysely sends becomes a named statement, prepared once per connection.
// It relies on Kysely's PostgresDriver calling `client.query(text, parameters)` (a string and
// an array) and on pg preparing a `{name, text, values}` query once per connection. If either
// changes, statements go unnamed again and nothing else notices: this test does.

describe.skipIf(!usingPostgres)('pg statements named once per connection (PostgreSQL)', () => {
  let db: Kysely<Database>
  let drop: () => Promise<void>
  beforeAll(async () => {
    const database = await testDatabase()
    drop = database.drop
    // One connection, so every query below runs in the same session.
    db = connect({ databaseUrl: database.env.DATABASE_URL, dataDir: 'unused', poolSize: 1 })
    await migrateToLatest(db)
  })
  afterAll(async () => {
    await db?.destroy()
    await drop?.()
  })

  /** This session's prepared statements whose text contains `marker`. */
  const prepared = async (marker: string) =>
    (
      await sql<{ name: string; runs: number }>`
        select name, (generic_plans + custom_plans)::int as runs
        from pg_prepared_statements
        where statement like ${`%${marker}%`} and statement not like '%pg_prepared_statements%'
      `.execute(db)
    ).rows

  it('prepares a Kysely DML statement once and runs every call through it', async () => {
    const query = (n: number) => sql<{ n: number }>`select ${n}::int as n /* trick-named */`
    for (let n = 1; n <= 7; n++) expect((await query(n).execute(db)).rows).toEqual([{ n }])
    const rows = await prepared('trick-named')
    expect(rows).toHaveLength(1)
    expect(rows[0]?.name).toMatch(/^k[\w-]{20}$/)
    // Every call executed the one prepared statement (custom plans first, then generic ones).
    expect(rows[0]?.runs).toBe(7)
  })

  it('names builder queries too (Kysely still hands pg a text and an array)', async () => {
    for (let i = 0; i < 2; i++)
      await db
        .selectFrom('products')
        .select('sku')
        .where('sku', '=', `none-${i}`)
        .modifyEnd(sql`/* trick-builder */`)
        .execute()
    expect(await prepared('trick-builder')).toHaveLength(1)
  })

  it('sends a statement that starts with PLAN_EACH_RUN unnamed, planned each time', async () => {
    for (let n = 1; n <= 3; n++)
      await sql`${sql.raw(PLAN_EACH_RUN)} select ${n}::int as n /* trick-unnamed */`.execute(db)
    expect(await prepared('trick-unnamed')).toEqual([])
  })

  it('runs every session with the service settings (startup options, not SET)', async () => {
    const { rows } = await sql<{ seqscan: string; tz: string; datestyle: string }>`
      select current_setting('enable_seqscan') as seqscan, current_setting('timezone') as tz,
             current_setting('datestyle') as datestyle
    `.execute(db)
    expect(rows[0]).toEqual({ seqscan: 'off', tz: 'UTC', datestyle: 'ISO, MDY' })
  })
})
