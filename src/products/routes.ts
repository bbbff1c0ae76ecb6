import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { listProducts } from './queries.ts'
import { Product } from './schemas.ts'

const productRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/products',
    {
      schema: {
        tags: ['products'],
        summary: 'The products on sale, with current stock',
        response: { 200: Type.Array(Product) },
      },
    },
    () => listProducts(app.db),
  )
}

export default productRoutes
