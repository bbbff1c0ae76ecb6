import type { FastifyBaseLogger } from 'fastify'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { Config } from '../config.ts'
import { serviceDatabase } from '../db/command.ts'
import { prepareEmbeddedDatabase } from '../db/embedded.ts'
import { prepareSchema } from '../db/prepare-schema.ts'
import type { Database } from '../db/schema.ts'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
  }
}

/**
 * One line naming the database the service uses, without credentials: an operator sees at once
 * that a misspelt DATABASE_URL (DATABSE_URL) left a production start on the embedded database,
 * which it warns of, as every instance then keeps orders of its own.
 */
function logDatabaseInUse(log: FastifyBaseLogger, config: Config) {
  if (config.DATABASE_URL) {
    const url = new URL(config.DATABASE_URL)
    const server = `${url.hostname}:${url.port || '5432'}`
    const name = decodeURIComponent(url.pathname.slice(1)) || '(the user’s default)'
    log.info({ server, database: name }, `using PostgreSQL at ${server}, database ${name}`)
  } else if (config.NODE_ENV === 'production') {
    log.warn(
      { dataDir: config.DATA_DIR },
      `using the embedded database in ${config.DATA_DIR}: DATABASE_URL is not set (in production each instance then keeps its own orders)`,
    )
  } else {
    log.info({ dataDir: config.DATA_DIR }, `using the embedded database in ${config.DATA_DIR}`)
  }
}

/**
 * The Kysely instance, migrated before the server takes its first request (the features seed
 * their own rows: products/plugin.ts); who migrates, and a service role that may not, are
 * prepare-schema.ts's business. Start-up
 * takes as long as it takes (the app sets no plugin timeout); on the embedded database the
 * first start creates it and says so, since that is the slow part.
 */
export default fp(
  async (app, { config }: { config: Config }) => {
    if (!config.DATABASE_URL) {
      const started = performance.now()
      const created = await prepareEmbeddedDatabase(config.DATA_DIR, (dataDir, interrupted) =>
        app.log.info(
          { dataDir },
          interrupted
            ? `an earlier start was interrupted while creating the embedded database in ${dataDir}: creating it again …`
            : `creating the embedded database in ${dataDir} … (the first start only; it can take a minute on a busy machine)`,
        ),
      )
      if (created) {
        const seconds = Math.round((performance.now() - started) / 100) / 10
        app.log.info({ dataDir: config.DATA_DIR, seconds }, 'embedded database created')
      }
    }
    const db = serviceDatabase(config)
    app.decorate('db', db)
    app.addHook('onClose', () => db.destroy())

    const applied = await prepareSchema(db, config)
    if (applied.length > 0) app.log.info({ migrations: applied }, 'migrations applied')
    logDatabaseInUse(app.log, config)
  },
  { name: 'db' },
)
