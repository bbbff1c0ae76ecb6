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

/**
 * Orders as the routes see them. Under load most of a database round trip's cost is the trip
 * itself (a statement, a wake-up of the server process, a socket write each way), whatever the
 * statement does: so the requests that arrive during one turn of the event loop share one. The
 * orders placed in that turn go in one statement and one commit (placeOrders), the lookups in one
 * query. A request waits at most one turn of the loop for its companions; alone, it goes alone.
 */
const noop = () => {}

export function ordersRepository(
  db: Kysely<Database>,
  {
    batchMax,
    onBatch = () => {},
  }: { batchMax: number; onBatch?: (kind: 'place' | 'find', size: number) => void },
): OrdersRepository {
  const nextTurn = (run: () => void) => setImmediate(run)
  let writing: Promise<unknown> | undefined
  const placements = new DataLoader<OrderRequest, PlaceOrderResult>(
    (requests) => {
      onBatch('place', requests.length)
      const batch = placeOrders(db, requests)
      const done = batch.then(noop, noop)
      writing = done
      done.then(() => {
        if (writing === done) writing = undefined
      })
      return batch
    },
    {
      cache: false,
      maxBatchSize: batchMax,
      batchScheduleFn: (run) => (writing ? writing.then(run, run) : nextTurn(run)),
    },
  )
  const lookups = new DataLoader<string, Order | undefined>(
    (numbers) => {
      onBatch('find', numbers.length)
      return findOrdersByNumber(db, numbers)
    },
    { cache: false, maxBatchSize: batchMax, batchScheduleFn: nextTurn },
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
