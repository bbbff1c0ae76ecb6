import fp from 'fastify-plugin'
import adminProductPages from './admin-pages.ts'
import adminProductRoutes from './admin-routes.ts'
import productRoutes from './routes.ts'
import { seedCatalogue } from './seed.ts'

/**
 * The products feature: seeds the catalogue (missing products only; stock and price of existing
 * rows are left alone) before the server takes its first request, serves GET /api/products
 * (the products on sale), and the back office's products: `/admin/products` and
 * `/api/admin/products…` (restock, price, on sale). Register after the staff plugin, whose
 * guard attaches to each admin route as it is registered.
 */
export default fp(
  async (app) => {
    await seedCatalogue(app.db)
    await app.register(productRoutes)
    await app.register(adminProductRoutes)
    await app.register(adminProductPages)
  },
  { name: 'products', dependencies: ['db', 'staff'] },
)
