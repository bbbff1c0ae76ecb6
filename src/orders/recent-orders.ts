import type { Order } from './schemas.ts'

export interface RecentOrders {
  get(orderNumber: string): Order | undefined
  add(order: Order): void
}

/**
 * The orders this instance placed lately, newest last. A placed order never changes, and the
 * shopper's browser follows the 303 straight to its confirmation, usually over the same
 * keep-alive connection: that read needs no database. Orders from other instances, or older
 * ones, are read from the database as usual. Bounded, so memory stays flat under any load.
 */
export function recentOrders(max: number): RecentOrders {
  const orders = new Map<string, Order>()
  return {
    get: (orderNumber) => orders.get(orderNumber),
    add(order) {
      orders.set(order.orderNumber, order)
      if (orders.size > max) orders.delete(orders.keys().next().value as string)
    },
  }
}
