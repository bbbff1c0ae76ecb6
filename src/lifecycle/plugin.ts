import fp from 'fastify-plugin'
import lifecycleRoutes from './routes.ts'

/**
 * The order lifecycle: staff pack, ship, deliver and cancel orders through
 * `/api/admin/orders/:orderNumber` and its `/transitions`. Registered after the staff plugin,
 * whose access guard attaches itself to every /api/admin route as it is registered.
 */
export default fp(
  async (app) => {
    await app.register(lifecycleRoutes)
  },
  { name: 'lifecycle', dependencies: ['db', 'staff'] },
)
