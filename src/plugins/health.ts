import fp from 'fastify-plugin'
import { sql } from 'kysely'
import type { Config } from '../config.ts'
import { isMigrated } from '../db/migrate.ts'
import { placedByPrimary, primaryCanPlace } from '../orders/primary-placement.ts'
import { exemptFromPressure } from './metrics.ts'
import { within } from './within.ts'

/**
 * GET /healthz: the process is up and serving (liveness; answers even under pressure).
 * GET /readyz: it can take orders: the database answers and every migration is applied, and
 * in a worker of several, the primary's connection that places the orders answers too
 * (readiness; 503 otherwise, and while shutting down).
 * Both answer `{status}`, plus `revision` (APP_REVISION, the commit the image was built from)
 * when it is set: a release checks it to know the new build is the one answering.
 */
export default fp<{ config: Pick<Config, 'APP_REVISION'> }>(
  async (app, { config }) => {
    const revision = config.APP_REVISION ? { revision: config.APP_REVISION } : {}
    app.get('/healthz', { schema: { hide: true }, config: exemptFromPressure }, async () => ({
      status: 'ok',
      ...revision,
    }))

    // Once every migration is applied it stays so for this process: checked until true, then not.
    let migrated = false
    app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
      const notReady = (reason: string) =>
        reply.code(503).header('retry-after', '5').send({ status: 'unavailable', reason })
      try {
        await within(sql`select 1`.execute(app.db), 2000, 'the database check')
        migrated ||= await within(isMigrated(app.db), 2000, 'the migrations check')
      } catch {
        return notReady('the database does not answer')
      }
      if (placedByPrimary()) {
        try {
          await within(primaryCanPlace(), 2000, 'the placing connection check')
        } catch {
          return notReady("the database does not answer the primary's connection placing orders")
        }
      }
      return migrated ? { status: 'ready', ...revision } : notReady('migrations are pending')
    })
  },
  { name: 'health', dependencies: ['db'] },
)
