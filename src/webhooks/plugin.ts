import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import webhookAdminPages from './admin-pages.ts'
import webhookAdminRoutes from './admin-routes.ts'
import webhookSecretRoutes from './secret-routes.ts'

/**
 * What the endpoint routes need: whether local URLs are allowed (WEBHOOKS_ALLOW_LOCAL), whether
 * this is production (the pages' one-time cookie's name and Secure flag), and how long a rotated
 * secret keeps signing (WEBHOOKS_SECRET_OVERLAP_HOURS, secret-rotation.ts).
 */
export interface WebhookAdminOptions {
  allowLocal: boolean
  production: boolean
  overlapHours: number
}

/**
 * Webhook endpoints (issue 16): admins register, change, disable, delete them and rotate their
 * signing secret (the replaced one signing too for an overlap window, which they can end at once)
 * at `/admin/webhooks` and `/api/admin/webhooks`, and see and redeliver their
 * recent deliveries. Every URL passes url-policy.ts when registered (the dispatcher checks it
 * again before each delivery). Admin-only; register after the staff plugin, whose guard attaches
 * to each admin route as it is registered.
 */
export default fp(
  async (app, { config }: { config: Config }) => {
    const options: WebhookAdminOptions = {
      allowLocal: config.WEBHOOKS_ALLOW_LOCAL === 'true',
      production: config.NODE_ENV === 'production',
      overlapHours: config.WEBHOOKS_SECRET_OVERLAP_HOURS,
    }
    await app.register(webhookAdminRoutes, options)
    await app.register(webhookSecretRoutes, options)
    await app.register(webhookAdminPages, options)
  },
  { name: 'webhook-endpoints', dependencies: ['db', 'staff'] },
)
