import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import access from './access.ts'
import { ensureFirstAdmin } from './first-admin.ts'
import { dummyHash, shopWords } from './passwords.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The shop's words a new staff password must not be built on (shopWords, passwords.ts). */
    shopWords: readonly string[]
  }
}

/**
 * Staff sign-in, the foundation of the back office: the access guard of every route under
 * /admin and /api/admin (register this before any of them), and the first admin from
 * ADMIN_EMAIL and ADMIN_PASSWORD when no admin exists. Needs the database plugin.
 */
export default fp(
  async (app, { config }: { config: Config }) => {
    await app.register(access, { config })
    app.decorate('shopWords', shopWords(config))
    // Computed now, so the first unknown e-mail costs what a wrong password costs.
    await dummyHash()
    if (config.ADMIN_EMAIL && config.ADMIN_PASSWORD) {
      const outcome = await ensureFirstAdmin(
        app.db,
        config.ADMIN_EMAIL,
        config.ADMIN_PASSWORD,
        app.shopWords,
      )
      if (outcome === 'created') app.log.info('first admin created from ADMIN_EMAIL')
      if (outcome === 'email-taken') {
        app.log.warn(
          'ADMIN_EMAIL belongs to a staff account that is not an admin: no admin created',
        )
      }
    }
  },
  { name: 'staff', dependencies: ['db'] },
)
