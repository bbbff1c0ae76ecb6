import type { Kysely } from 'kysely'
import type { Config } from '../config.ts'
import { connect } from './connect.ts'
import { migrateToLatest, pendingMigrations } from './migrate.ts'
import {
  canMigrate,
  checkServiceRole,
  grantServiceRole,
  PendingMigrationsError,
} from './privileges.ts'
import type { Database } from './schema.ts'
import { explainConnectionError } from './tls.ts'

type SchemaConfig = Pick<
  Config,
  'DATABASE_URL' | 'MIGRATION_DATABASE_URL' | 'DATA_DIR' | 'DATABASE_CA_FILE'
> &
  Partial<Pick<Config, 'DATABASE_CONNECT_TIMEOUT_MS'>>

const migrationFailures = new WeakSet<object>()

/**
 * Whether `err` came from the connection through MIGRATION_DATABASE_URL (the owner's), not
 * DATABASE_URL's: which of the two a refused or silent server is reported under (command.ts).
 */
export const fromMigrationUrl = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && migrationFailures.has(err)

/** The user a postgres:// URL signs in as ('' when it names none). */
export const userOf = (databaseUrl: string): string =>
  decodeURIComponent(new URL(databaseUrl).username)

/**
 * Brings the schema up to date before anything is served, and says what it applied.
 *
 * - MIGRATION_DATABASE_URL set (the tables' owner): checks that the user of DATABASE_URL,
 *   when another, exists (ServiceRoleMissingError, before anything is migrated), migrates
 *   through it, then grants that user what serving needs (privileges.ts). The serving
 *   connection `db` is not used for it.
 * - Otherwise (the embedded database, local development, one role for everything): migrates
 *   through DATABASE_URL when something is pending, as long as its role may (it creates in
 *   the schema and owns the migration table). A role that may not (the service's least-
 *   privilege role, its migrations left to `npm run migrate`) is never made to try: the
 *   start stops with PendingMigrationsError naming the pending migrations, rather than
 *   serving a schema the code does not match. Nothing pending: nothing is locked or written.
 *
 * Migrations get a connection of their own without the statement timeout (a backfill may take
 * minutes); the embedded database is one in-process database, so `db` itself. A connection
 * refused for its certificate is reported as tls.ts explains it. Throws what migrating throws.
 */
export async function prepareSchema(db: Kysely<Database>, config: SchemaConfig): Promise<string[]> {
  const open = (databaseUrl: string) =>
    connect({
      databaseUrl,
      dataDir: config.DATA_DIR,
      poolSize: 1,
      // A server that takes the connection and never answers fails the start, as for the pool.
      connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
      caFile: config.DATABASE_CA_FILE,
    })
  try {
    if (config.MIGRATION_DATABASE_URL) {
      const owner = open(config.MIGRATION_DATABASE_URL)
      try {
        const serviceRole = config.DATABASE_URL ? userOf(config.DATABASE_URL) : ''
        const grant = serviceRole && serviceRole !== userOf(config.MIGRATION_DATABASE_URL)
        // Before migrating: a role to create first stops the run with nothing changed.
        if (grant) await checkServiceRole(owner, serviceRole)
        const applied = await migrateToLatest(owner)
        if (grant) await grantServiceRole(owner, serviceRole)
        return applied
      } catch (err) {
        if (typeof err === 'object' && err !== null) migrationFailures.add(err)
        throw err
      } finally {
        await owner.destroy()
      }
    }
    const pending = await pendingMigrations(db)
    if (pending.length === 0) return []
    if (!(await canMigrate(db))) throw new PendingMigrationsError(pending)
    if (!config.DATABASE_URL) return await migrateToLatest(db)
    const migrator = open(config.DATABASE_URL)
    try {
      return await migrateToLatest(migrator)
    } finally {
      await migrator.destroy()
    }
  } catch (err) {
    const { code, message } = err as { code?: unknown; message?: unknown }
    if (code === '42501' && String(message).includes('kysely_migration'))
      throw new Error(
        `The role in DATABASE_URL may not read which migrations ran (${String(message)}): run \`npm run migrate\` with MIGRATION_DATABASE_URL (the owner's URL) and DATABASE_URL set, which grants the service's role what it needs`,
        { cause: err },
      )
    throw explainConnectionError(
      err,
      fromMigrationUrl(err) ? 'MIGRATION_DATABASE_URL' : 'DATABASE_URL',
    )
  }
}
