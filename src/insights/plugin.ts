import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { ttlCache } from '../ttl-cache.ts'
import { type Folder, type FolderStats, MAX_FOLD_BATCH, startFolder } from './folder.ts'
import { registerInsightsMetrics } from './metrics.ts'
import { insightsOverview, stateInsights } from './queries.ts'
import type { InsightsOverview, StateInsights, TopProduct } from './schemas.ts'
import { cachedTopProducts } from './top-products.ts'

declare module 'fastify' {
  interface FastifyInstance {
    topProducts: (state: string) => Promise<TopProduct[]>
    insights: {
      overview: () => Promise<InsightsOverview>
      state: (state: string) => Promise<StateInsights>
    }
    /** This instance's share of the folding (zeros while its folder is off). */
    folderStats: Readonly<FolderStats>
  }
}

export interface InsightsOptions {
  config: Config
  /** Tests that fold by hand switch the background folder off. */
  folder?: boolean
}

/**
 * The cached insights reads (top three, overview, per state; all kept TOP_PRODUCTS_CACHE_MS),
 * and the background folder that feeds the aggregates behind them.
 */
export default fp(
  async (app, { config, folder = true }: InsightsOptions) => {
    const ttl = config.TOP_PRODUCTS_CACHE_MS
    app.decorate('topProducts', cachedTopProducts(app.db, ttl))
    const overview = ttlCache((_: 'all') => insightsOverview(app.db), ttl)
    app.decorate('insights', {
      overview: () => overview('all'),
      state: ttlCache((state: string) => stateInsights(app.db, state), ttl),
    })
    const idle: FolderStats = { folded: 0, batches: 0, failures: 0, batchLimit: MAX_FOLD_BATCH }
    let running: Folder | undefined
    app.decorate('folderStats', {
      getter: () => running?.stats ?? idle,
    })
    registerInsightsMetrics(app.metrics.registry, app.db, () => app.folderStats)
    if (!folder) return
    app.addHook('onReady', async () => {
      running = startFolder(app.db, {
        intervalMs: config.FOLD_INTERVAL_MS,
        onError: (err) => app.log.warn({ err }, 'folding sales failed; will retry'),
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
