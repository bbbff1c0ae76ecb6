import fp from 'fastify-plugin'
import adminOrderApi from './api-routes.ts'
import adminOrderPages from './page-routes.ts'

/**
 * The back office's orders: `/admin/orders` (list, CSV, order page with its actions) and
 * `GET /api/admin/orders`. Registered after the staff plugin, whose access guard attaches
 * itself to every /admin and /api/admin route as it is registered.
 */
export default fp(
  async (app) => {
    await app.register(adminOrderPages)
    await app.register(adminOrderApi)
  },
  { name: 'admin-orders', dependencies: ['db', 'staff'] },
)
