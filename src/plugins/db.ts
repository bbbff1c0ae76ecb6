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
    })
    app.decorate('db', db)
    app.addHook('onClose', () => db.destroy())

    const applied = await migrateToLatest(db)
    if (applied.length > 0) app.log.info({ migrations: applied }, 'migrations applied')
    await seedCatalogue(db)
  },
  { name: 'db' },
)
