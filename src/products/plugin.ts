import fp from 'fastify-plugin'
import productRoutes from './routes.ts'
import { seedCatalogue } from './seed.ts'

/**
 * The products feature: seeds the catalogue (missing products only; stock and price of existing
 * rows are left alone) before the server takes its first request, and serves GET /api/products.
 */
export default fp(
  async (app) => {
    await seedCatalogue(app.db)
    await app.register(productRoutes)
  },
  { name: 'products', dependencies: ['db'] },
)
