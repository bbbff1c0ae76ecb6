import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Kysely } from 'kysely'
import { FileMigrationProvider, Migrator } from 'kysely/migration'
import { asError } from '../plugins/logging.ts'
import type { Database } from './schema.ts'

const migrationFolder = fileURLToPath(new URL('../../migrations', import.meta.url))

export function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder }),
  })
}

/** Applies every pending migration; throws the first failure. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const { error, results = [] } = await migrator(db).migrateToLatest()
  if (error) throw asError(error)
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/** True when the database has every migration in the folder applied. */
export async function isMigrated(db: Kysely<Database>): Promise<boolean> {
  const migrations = await migrator(db).getMigrations()
  return migrations.every((m) => m.executedAt !== undefined)
}

/** The names of the migrations in the folder not applied yet, oldest first (reads only). */
export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const migrations = await migrator(db).getMigrations()
  return migrations.filter((m) => m.executedAt === undefined).map((m) => m.name)
}
