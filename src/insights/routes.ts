import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { StateCode } from '../orders/schemas.ts'
import insightsPages from './pages.ts'
import { InsightsOverview, StateInsights } from './schemas.ts'

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

  app.get(
    '/api/insights',
    {
      schema: {
        tags: ['insights'],
        summary:
          'Orders, units and revenue per state with its best seller, and the national top three',
        response: { 200: InsightsOverview },
      },
    },
    () => app.insights.overview(),
  )

  app.get(
    '/api/insights/:state',
    {
      schema: {
        tags: ['insights'],
        summary: "A state's products by units and revenue, compared with the national top three",
        params: Type.Object({ state: StateCode }),
        response: { 200: StateInsights },
      },
    },
    (request) => app.insights.state(request.params.state),
  )

  await app.register(insightsPages)
}

export default insightsRoutes
