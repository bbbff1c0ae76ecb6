import { randomUUID } from 'node:crypto'
import type { App } from '../../src/app.ts'
import type { OrderStatus } from '../../src/lifecycle/transitions.ts'
import { customerIn } from './context.ts'

/** Places an order through the API; returns its number. Throws unless it was placed. */
export async function placeOrder(
  app: App,
  items: { sku: string; quantity: number }[],
  state = 'TX',
): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: { 'idempotency-key': randomUUID() },
    payload: { items, customer: customerIn(state) },
  })
  if (res.statusCode !== 201) throw new Error(`order answered ${res.statusCode}: ${res.body}`)
  return res.json().orderNumber
}

export interface TransitionRequest {
  to: string
  note?: string
  carrier?: string
  trackingNumber?: string
}

/** What shipping takes, on every request that ships. */
export const shipping = { carrier: 'UPS', trackingNumber: '1Z999AA10123456784' }

/** The back office's order API as one staff member (bearer token) calls it. */
export function lifecycleApi(app: App, token: string) {
  const authorization = `Bearer ${token}`
  const api = {
    get: (orderNumber: string) =>
      app.inject({ url: `/api/admin/orders/${orderNumber}`, headers: { authorization } }),
    /** POSTs a transition with `ifMatch` as If-Match (none when null). */
    transition: (orderNumber: string, body: TransitionRequest, ifMatch: string | null) =>
      app.inject({
        method: 'POST',
        url: `/api/admin/orders/${orderNumber}/transitions`,
        headers: { authorization, ...(ifMatch === null ? {} : { 'if-match': ifMatch }) },
        payload: body,
      }),
    /** The order's current ETag (from GET). */
    etag: async (orderNumber: string) => {
      const res = await api.get(orderNumber)
      if (res.statusCode !== 200) throw new Error(`GET answered ${res.statusCode}`)
      return res.headers.etag as string
    },
    /** Makes a transition with the current ETag; throws unless it answered 200. */
    move: async (orderNumber: string, to: OrderStatus, extra: Partial<TransitionRequest> = {}) => {
      const body = { to, ...(to === 'shipped' ? shipping : {}), ...extra }
      const res = await api.transition(orderNumber, body, await api.etag(orderNumber))
      if (res.statusCode !== 200) throw new Error(`${to} answered ${res.statusCode}: ${res.body}`)
      return res
    },
  }
  return api
}

/** The statuses an order passes through to reach `status`, from placed. */
export const pathTo: Record<OrderStatus, OrderStatus[]> = {
  placed: [],
  packed: ['packed'],
  shipped: ['packed', 'shipped'],
  delivered: ['packed', 'shipped', 'delivered'],
  cancelled: ['cancelled'],
}
