import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { StateCode } from '../orders/schemas.ts'

const insightsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/states/:state/top-products',
    {
      schema: {
        tags: ['insights'],
        summary: "A state's three best-selling products by units",
        params: Type.Object({ state: StateCode }),
        response: {
          200: Type.Object({
            state: Type.String(),
            products: Type.Array(
              Type.Object({ sku: Type.String(), name: Type.String(), units: Type.Integer() }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const { state } = request.params
      return { state, products: await app.topProducts(state) }
    },
  )
}

export default insightsRoutes
