import DataLoader from 'dataloader'
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { parseOrderNumber } from './order-number.ts'
import { placeOrderBatch } from './place-order-batch.ts'
import type { PlaceOrderResult } from './placement.ts'
import { type FoundOrder, findOrdersByNumber } from './queries.ts'
import type { OrderRequest } from './schemas.ts'

export interface OrderBatcher {
  place(request: OrderRequest): Promise<PlaceOrderResult>
  /**
   * An order by its number as the shopper typed it (the one lookup of the page and the API):
   * trimmed, in any case, with or without its dash (or a Unicode hyphen for it), with I, L and O for 1 and 0. A number that
   * cannot be one is undefined at once, without asking the database.
   */
  find(typed: string): Promise<FoundOrder | undefined>
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
 * batch is being written go together in one statement and one commit (placeOrderBatch), the lookups
 * likewise in one query. A request waits at most for the batch ahead of it; alone, it goes alone
 * on the next turn of the event loop. (A batcher above the use cases placeOrder and the lookups,
 * not a repository.)
 */
export function orderBatcher(
  db: Kysely<Database>,
  {
    batchMax,
    emails,
    onBatch = () => {},
  }: {
    batchMax: number
    /** Mail is on: see PlaceOrderOptions. */
    emails?: boolean
    onBatch?: (kind: 'place' | 'find', size: number) => void
  },
): OrderBatcher {
  const writes = oneInFlight()
  const placements = new DataLoader<OrderRequest, PlaceOrderResult>(
    (requests) => {
      onBatch('place', requests.length)
      return writes.track(placeOrderBatch(db, requests, { emails }))
    },
    { cache: false, maxBatchSize: batchMax, batchScheduleFn: writes.schedule },
  )
  const reads = oneInFlight()
  const lookups = new DataLoader<string, FoundOrder | undefined>(
    (numbers) => {
      onBatch('find', numbers.length)
      return reads.track(findOrdersByNumber(db, numbers))
    },
    { cache: false, maxBatchSize: batchMax, batchScheduleFn: reads.schedule },
  )
  return {
    place: (request) => placements.load(request),
    find(typed) {
      const orderNumber = parseOrderNumber(typed)
      if (orderNumber === undefined) return Promise.resolve(undefined)
      // Always from the database, never from orders kept in memory: staff change an order's
      // status on any instance, and the shopper must see it on the next read, on every one.
      return lookups.load(orderNumber)
    },
  }
}
