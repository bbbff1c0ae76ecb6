import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { preValidationHookHandler } from 'fastify'
import { ErrorResponse } from '../orders/schemas.ts'
import { adminApi } from '../staff/schemas.ts'
import { normaliseStateCode } from '../us-states.ts'
import insightsPages, { publicCacheControl } from './pages.ts'
import {
  InsightsOverview,
  PublicInsightsOverview,
  PublicStateInsights,
  publicOverview,
  publicStateInsights,
  StateInsights,
  StateParams,
  StateTopProducts,
} from './schemas.ts'

/** `tx`, ` TX ` are TX here as on the pages (which redirect) and in orders. */
const canonicalState: preValidationHookHandler = (request, _reply, done) => {
  const params = request.params as { state?: unknown }
  if (typeof params.state === 'string') params.state = normaliseStateCode(params.state)
  done()
}

const insightsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/states/:state/top-products',
    {
      schema: {
        tags: ['insights'],
        summary: "A state's three best-selling products by units",
        params: StateParams,
        response: { 200: StateTopProducts },
      },
      preValidation: canonicalState,
    },
    async (request, reply) => {
      const { state } = request.params
      reply.header('cache-control', publicCacheControl)
      return { state, products: await app.topProducts(state) }
    },
  )

  app.get(
    '/api/insights',
    {
      schema: {
        tags: ['insights'],
        summary: 'Items sold per state with its best seller, and the national top three',
        response: { 200: PublicInsightsOverview },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', publicCacheControl)
      return publicOverview(await app.insights.overview())
    },
  )

  app.get(
    '/api/insights/:state',
    {
      schema: {
        tags: ['insights'],
        summary: "A state's products by items sold, compared with the national top three",
        params: StateParams,
        response: { 200: PublicStateInsights },
      },
      preValidation: canonicalState,
    },
    async (request, reply) => {
      reply.header('cache-control', publicCacheControl)
      return publicStateInsights(await app.insights.state(request.params.state))
    },
  )

  // The same with order counts and revenue, for staff (bearer token; src/staff/access.ts).
  app.get(
    '/api/admin/insights',
    {
      schema: {
        ...adminApi,
        summary:
          'Orders, units and revenue per state with its best seller, and the national top three',
        response: { 200: InsightsOverview },
      },
      config: { access: 'staff' },
    },
    () => app.insights.overview(),
  )

  app.get(
    '/api/admin/insights/:state',
    {
      schema: {
        ...adminApi,
        summary: "A state's products by units and revenue, compared with the national top three",
        params: StateParams,
        response: { 200: StateInsights, 400: ErrorResponse },
      },
      config: { access: 'staff' },
      preValidation: canonicalState,
    },
    (request) => app.insights.state(request.params.state),
  )

  await app.register(insightsPages)
}

export default insightsRoutes
