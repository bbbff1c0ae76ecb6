import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { outageLog } from '../plugins/outage-log.ts'
import { ttlCache } from '../ttl-cache.ts'
import { registerInsightsMetrics } from './metrics.ts'
import { insightsOverview, stateInsights } from './queries.ts'
import {
  MAX_FOLD_BATCH,
  type SalesFold,
  type SalesFoldStats,
  startSalesFold,
} from './sales-fold.ts'
import type { InsightsOverview, StateInsights, TopProduct } from './schemas.ts'
import { cachedTopProducts } from './top-products.ts'

declare module 'fastify' {
  interface FastifyInstance {
    topProducts: (state: string) => Promise<TopProduct[]>
    insights: {
      overview: () => Promise<InsightsOverview>
      state: (state: string) => Promise<StateInsights>
    }
    /** This instance's share of the folding (zeros while its sales fold is off). */
    salesFoldStats: Readonly<SalesFoldStats>
  }
}

export interface InsightsOptions {
  config: Config
  /** Tests that fold by hand switch the background sales fold off. */
  salesFold?: boolean
}

/**
 * The cached insights reads (top three, overview, per state; all kept TOP_PRODUCTS_CACHE_MS),
 * and the background sales fold that feeds the aggregates behind them.
 */
export default fp(
  async (app, { config, salesFold = true }: InsightsOptions) => {
    const ttl = config.TOP_PRODUCTS_CACHE_MS
    app.decorate('topProducts', cachedTopProducts(app.db, ttl))
    const overview = ttlCache((_: 'all') => insightsOverview(app.db), ttl)
    app.decorate('insights', {
      overview: () => overview('all'),
      state: ttlCache((state: string) => stateInsights(app.db, state), ttl),
    })
    const idle: SalesFoldStats = { folded: 0, batches: 0, failures: 0, batchLimit: MAX_FOLD_BATCH }
    let running: SalesFold | undefined
    app.decorate('salesFoldStats', {
      getter: () => running?.stats ?? idle,
    })
    registerInsightsMetrics(app.metrics.registry, app.db, () => app.salesFoldStats)
    if (!salesFold) return
    app.addHook('onReady', async () => {
      const outage = outageLog(app.log, 'folding sales')
      running = startSalesFold(app.db, {
        intervalMs: config.FOLD_INTERVAL_MS,
        onError: outage.failed,
        onSuccess: outage.succeeded,
        onBehind: (behind) =>
          app.log.warn(
            { behindMs: behind.ms, batchLimit: behind.batchLimit, failures: behind.failures },
            'the sales folder is falling behind: the top three are going stale',
          ),
      })
    })
    // preClose runs before the pool closes: the batch in flight finishes first.
    app.addHook('preClose', async () => running?.stop())
  },
  { name: 'insights', dependencies: ['db', 'metrics'] },
)
