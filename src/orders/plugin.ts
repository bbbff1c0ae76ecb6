import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { type OrderMetrics, orderMetrics } from './metrics.ts'
import { type OrderBatcher, orderBatcher } from './order-batcher.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Orders placed and looked up, batched (order-batcher.ts). */
    orders: OrderBatcher
    /** What the order routes count. */
    orderMetrics: OrderMetrics
  }
}

/** The orders' metrics (in the app's registry) and the batcher the order routes use. */
export default fp(
  async (app, { config }: { config: Config }) => {
    const metrics = orderMetrics(app.metrics.registry)
    app.decorate('orderMetrics', metrics)
    app.decorate(
      'orders',
      orderBatcher(app.db, {
        batchMax: config.ORDER_BATCH_MAX,
        // As the dispatcher's fan-out is told (webhooks/dispatcher-plugin.ts).
        emails: Boolean(config.SMTP_URL),
        onBatch: metrics.batch,
      }),
    )
  },
  { name: 'orders', dependencies: ['db', 'metrics'] },
)
