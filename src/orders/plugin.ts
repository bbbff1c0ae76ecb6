import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { type LookupMisses, lookupMisses, noLookupLimit } from './lookup-misses.ts'
import { type OrderMetrics, orderMetrics } from './metrics.ts'
import { type OrderBatcher, orderBatcher } from './order-batcher.ts'
import { placedByPrimary, placeThroughPrimary } from './primary-placement.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Orders placed and looked up, batched (order-batcher.ts). */
    orders: OrderBatcher
    /** What the order routes count. */
    orderMetrics: OrderMetrics
    /** Lookups that found no order, per client: past LOOKUP_MISS_MAX a minute, 429. */
    lookupMisses: LookupMisses
  }
}

/**
 * The orders' metrics (in the app's registry), the batcher the order routes use and the count
 * of their lookups' misses (off with LOOKUP_MISS_MAX or RATE_LIMIT_MAX 0, as load tests run).
 * A worker of several places its orders through the primary (primary-placement.ts).
 */
export default fp(
  async (app, { config }: { config: Config }) => {
    const metrics = orderMetrics(app.metrics.registry)
    app.decorate('orderMetrics', metrics)
    const limited = config.LOOKUP_MISS_MAX > 0 && config.RATE_LIMIT_MAX > 0
    app.decorate('lookupMisses', limited ? lookupMisses(config.LOOKUP_MISS_MAX) : noLookupLimit)
    const batcher = orderBatcher(app.db, {
      batchMax: config.ORDER_BATCH_MAX,
      // As the dispatcher's fan-out is told (webhooks/dispatcher-plugin.ts).
      emails: Boolean(config.SMTP_URL),
      onBatch: metrics.batch,
    })
    if (placedByPrimary())
      batcher.place = placeThroughPrimary((size) => metrics.batch('place', size))
    app.decorate('orders', batcher)
  },
  { name: 'orders', dependencies: ['db', 'metrics'] },
)
