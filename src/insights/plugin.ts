import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { type Folder, startFolder } from './folder.ts'
import { cachedTopProducts, type TopProduct } from './top-products.ts'

declare module 'fastify' {
  interface FastifyInstance {
    topProducts: (state: string) => Promise<TopProduct[]>
  }
}

export interface InsightsOptions {
  config: Config
  /** Tests that fold by hand switch the background folder off. */
  folder?: boolean
}

/** The cached top-three read, and the background folder that feeds the aggregate behind it. */
export default fp(
  async (app, { config, folder = true }: InsightsOptions) => {
    app.decorate('topProducts', cachedTopProducts(app.db, config.TOP_PRODUCTS_CACHE_MS))
    if (!folder) return
    let running: Folder | undefined
    app.addHook('onReady', async () => {
      running = startFolder(app.db, {
        intervalMs: config.FOLD_INTERVAL_MS,
        onError: (err) => app.log.warn({ err }, 'folding sales failed; will retry'),
      })
    })
    // preClose runs before the pool closes: the batch in flight finishes first.
    app.addHook('preClose', async () => running?.stop())
  },
  { name: 'insights', dependencies: ['db'] },
)
