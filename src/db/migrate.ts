import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Kysely, sql } from 'kysely'
import { FileMigrationProvider, Migrator } from 'kysely/migration'
import { asError } from '../plugins/logging.ts'
import type { Database } from './schema.ts'

const migrationFolder = fileURLToPath(new URL('../../migrations', import.meta.url))

/**
 * The connection's search_path leaves the migrations nowhere sound to go: no schema of it
 * exists, or the service's tables are in a later one than where new tables would be created.
 */
export class SearchPathError extends Error {
  override name = 'SearchPathError'
}

/**
 * The schema the connection's unqualified names resolve to (the first existing one in its
 * search_path), where the migrations create the tables and Kysely keeps its own.
 * @throws SearchPathError when no schema of the search_path exists, or when the migration
 *   table is in a later schema of it than that first one: migrating there would make a second,
 *   empty set of tables that hides the first from every query.
 */
export async function currentSchema(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ schema: string | null; path: string; migrated: string | null }>`
    select current_schema() as schema, current_setting('search_path') as path,
      (select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relname = 'kysely_migration' and n.nspname = any (current_schemas(false))
        order by array_position(current_schemas(false), n.nspname) limit 1) as migrated`.execute(db)
  const { schema, path: searchPath = '', migrated } = rows[0] ?? {}
  if (schema && (!migrated || migrated === schema)) return schema
  if (schema) {
    throw new SearchPathError(
      `The database connection's search_path (${searchPath}) finds this service's tables in schema ${migrated} but would create new ones in ${schema}, the first of it that exists: set search_path to ${migrated} to keep those tables, or to ${schema} alone to migrate a new set there, then run this again.`,
    )
  }
  // PostgreSQL would create nothing there ("no schema has been selected to create in"); the
  // schema is the operator's to make, as the database is, with the owner they choose.
  const first = searchPath
    .split(',')
    .map((s) => s.trim())
    .find((s) => s && s !== '"$user"')
  throw new SearchPathError(
    `The database connection's search_path (${searchPath}) names no schema that exists in this database: create it first (CREATE SCHEMA ${first ?? 'name'}, owned by the role that migrates), or correct search_path in the URL's options, then run this again.`,
  )
}

/**
 * The migrator of `db`'s current schema. Kysely looks for its migration tables in every schema
 * the role may see unless told which: with a search_path of `shop` on a database whose `public`
 * already holds them, it found public's, then read `kysely_migration` through the search path
 * and failed. Told the current schema, it keeps its tables beside the ones the migrations make.
 */
export async function migrator(db: Kysely<Database>): Promise<Migrator> {
  return new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder }),
    migrationTableSchema: await currentSchema(db),
  })
}

/** Applies every pending migration; throws the first failure. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const { error, results = [] } = await (await migrator(db)).migrateToLatest()
  if (error) throw asError(error)
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/** True when the database has every migration in the folder applied. */
export async function isMigrated(db: Kysely<Database>): Promise<boolean> {
  const migrations = await (await migrator(db)).getMigrations()
  return migrations.every((m) => m.executedAt !== undefined)
}

/** The names of the migrations in the folder not applied yet, oldest first (reads only). */
export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const migrations = await (await migrator(db)).getMigrations()
  return migrations.filter((m) => m.executedAt === undefined).map((m) => m.name)
}
