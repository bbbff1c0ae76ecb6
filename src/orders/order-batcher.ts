import DataLoader from 'dataloader'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { Config } from '../config.ts'
import type { Database } from '../db/schema.ts'
import type { Order, OrderRequest } from './order.ts'
import type { PlaceOrderResult } from './place-order.ts'
import { placeOrders } from './place-orders.ts'
import { findOrdersByNumber } from './queries.ts'
import { recentOrders } from './recent-orders.ts'

declare module 'fastify' {
  interface FastifyInstance {
    orders: OrdersRepository
  }
}

export interface OrdersRepository {
  place(request: OrderRequest): Promise<PlaceOrderResult>
  /** An order by its canonical number. */
  find(orderNumber: string): Promise<Order | undefined>
}

const noop = () => {}

/**
 * A DataLoader schedule in which the next batch gathers while the previous one is with the
 * database, and goes the moment it is back (group commit); with nothing in flight, a batch
 * goes on the next turn of the event loop. Bigger batches under load, no wait when idle.
 */
function oneInFlight() {
  let inFlight: Promise<void> | undefined
  return {
    schedule: (run: () => void) => (inFlight ? inFlight.then(run) : setImmediate(run)),
    track<T>(batch: Promise<T>): Promise<T> {
      const done = batch.then(noop, noop)
      inFlight = done
      done.then(() => {
        if (inFlight === done) inFlight = undefined
      })
      return batch
    },
  }
}

/**
 * Orders as the routes see them. Under load most of a database round trip's cost is the trip
 * itself (a statement, a commit, a wake-up of the server process, a socket write each way),
 * whatever the statement does: so requests share it. The orders that arrive while the previous
 * batch is being written go together in one statement and one commit (placeOrders), the lookups
 * likewise in one query. A request waits at most for the batch ahead of it; alone, it goes alone
 * on the next turn of the event loop.
 */
export function ordersRepository(
  db: Kysely<Database>,
  {
    batchMax,
    onBatch = () => {},
  }: { batchMax: number; onBatch?: (kind: 'place' | 'find', size: number) => void },
): OrdersRepository {
  const writes = oneInFlight()
  const placements = new DataLoader<OrderRequest, PlaceOrderResult>(
    (requests) => {
      onBatch('place', requests.length)
      return writes.track(placeOrders(db, requests))
    },
    { cache: false, maxBatchSize: batchMax, batchScheduleFn: writes.schedule },
  )
  const reads = oneInFlight()
  const lookups = new DataLoader<string, Order | undefined>(
    (numbers) => {
      onBatch('find', numbers.length)
      return reads.track(findOrdersByNumber(db, numbers))
    },
    { cache: false, maxBatchSize: batchMax, batchScheduleFn: reads.schedule },
  )
  const recent = recentOrders(5000)

  return {
    async place(request) {
      const result = await placements.load(request)
      if (result.kind === 'placed') recent.add(result.order)
      return result
    },
    find: (orderNumber) => {
      const order = recent.get(orderNumber)
      return order ? Promise.resolve(order) : lookups.load(orderNumber)
    },
  }
}

export default fp(
  async (app, { config }: { config: Config }) => {
    app.decorate(
      'orders',
      ordersRepository(app.db, { batchMax: config.ORDER_BATCH_MAX, onBatch: app.metrics.batch }),
    )
  },
  { name: 'orders-repository', dependencies: ['db', 'metrics'] },
)
