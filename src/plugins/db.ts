import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { Config } from '../config.ts'
import { connect } from '../db/connect.ts'
import { migrateToLatest } from '../db/migrate.ts'
import type { Database } from '../db/schema.ts'
import { seedCatalogue } from '../db/seed.ts'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
  }
}

/** The Kysely instance, migrated and seeded before the server takes its first request. */
export default fp(
  async (app, { config }: { config: Config }) => {
    const db = connect({
      databaseUrl: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      poolSize: config.DATABASE_POOL_SIZE,
      connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    })
    app.decorate('db', db)
    app.addHook('onClose', () => db.destroy())

    // Migrations get a connection without the statement timeout: a backfill may take minutes.
    // (PGlite is one in-process database: it has no timeout and cannot be opened twice.)
    const migrationDb = config.DATABASE_URL
      ? connect({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 1 })
      : db
    try {
      const applied = await migrateToLatest(migrationDb)
      if (applied.length > 0) app.log.info({ migrations: applied }, 'migrations applied')
    } finally {
      if (migrationDb !== db) await migrationDb.destroy()
    }
    await seedCatalogue(db)
  },
  { name: 'db' },
)
