import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyContextConfig } from 'fastify'
import { sendError } from '../plugins/errors.ts'
import { normaliseStateCode, usStates } from '../us-states.ts'
import { barChart, mapView } from './charts.ts'
import { publicOverview, publicStateInsights, StatePageParams } from './schemas.ts'

/**
 * The public insights' Cache-Control, pages and API alike (a state's top products too): aggregates
 * only, the same for every visitor, so a shared cache may keep them a second (the freshness
 * target of the sales fold).
 */
export const publicCacheControl = 'public, max-age=1'

/**
 * One set of insights pages: the public one at /insights (best sellers and items sold only,
 * what the order confirmation already shows) or the staff's at /admin/insights (also orders and
 * revenue; `access: 'staff'`, answered `no-store` by src/staff/access.ts).
 */
interface Variant {
  base: '/insights' | '/admin/insights'
  full: boolean
}

const variants: Variant[] = [
  { base: '/insights', full: false },
  { base: '/admin/insights', full: true },
]

/** The insights pages: the US map, and one state's products against the nation's. */
const insightsPages: FastifyPluginAsyncTypebox = async (app) => {
  for (const { base, full } of variants) {
    const config: FastifyContextConfig = full ? { access: 'staff' } : {}

    app.get(base, { schema: { hide: true }, config }, async (_request, reply) => {
      const all = await app.insights.overview()
      const overview = full ? all : publicOverview(all)
      if (!full) reply.header('cache-control', publicCacheControl)
      const map = mapView(overview.states, full ? 'orders' : 'units')
      return reply.view('insights.eta', { overview, map, full, base })
    })

    app.get(
      `${base}/:state`,
      { schema: { hide: true, params: StatePageParams }, config },
      async (request, reply) => {
        const { state } = request.params
        const code = normaliseStateCode(state)
        if (!usStates[code]) {
          return sendError(request, reply, 404, `There is no US state with the code ${state}.`)
        }
        if (code !== state) return reply.redirect(`${base}/${code}`, 301)
        const all = await app.insights.state(code)
        const insights = full ? all : publicStateInsights(all)
        if (!full) reply.header('cache-control', publicCacheControl)
        return reply.view('insights-state.eta', {
          insights,
          chart: barChart(insights),
          full,
          base,
        })
      },
    )
  }
}

export default insightsPages
