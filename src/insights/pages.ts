import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { sendError } from '../plugins/errors.ts'
import { normaliseStateCode, usStates } from '../us-states.ts'
import { barChart, mapView } from './charts.ts'
import { StatePageParams } from './schemas.ts'

// Aggregates only, and the same for every visitor: a shared cache may keep them a moment.
const cacheControl = 'public, max-age=1'

/** The insights pages: the US map of orders, and one state's products against the nation's. */
const insightsPages: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/insights', { schema: { hide: true } }, async (_request, reply) => {
    const overview = await app.insights.overview()
    reply.header('cache-control', cacheControl)
    return reply.view('insights.eta', { overview, map: mapView(overview) })
  })

  app.get(
    '/insights/:state',
    { schema: { hide: true, params: StatePageParams } },
    async (request, reply) => {
      const { state } = request.params
      const code = normaliseStateCode(state)
      if (!usStates[code]) {
        return sendError(request, reply, 404, `There is no US state with the code ${state}.`)
      }
      if (code !== state) return reply.redirect(`/insights/${code}`, 301)
      const insights = await app.insights.state(code)
      reply.header('cache-control', cacheControl)
      return reply.view('insights-state.eta', { insights, chart: barChart(insights) })
    },
  )
}

export default insightsPages
