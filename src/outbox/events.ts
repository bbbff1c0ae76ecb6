import { type Static, type TSchema, Type } from 'typebox'
import { Status, type Target } from '../lifecycle/schemas.ts'
import { Order } from '../orders/schemas.ts'

/**
 * The events the service writes to its outbox (migration 0007), each in the statement or
 * transaction that makes its change: `order.placed` by the order statements (src/orders), one
 * `order.<status>` per status change (src/lifecycle), `product.out_of_stock` when an order
 * takes a product's last unit. The SQL that builds each payload is in payloads.ts; the shapes
 * below are what that SQL writes, and what receivers get as the envelope's `data`.
 */
export const eventTypes = [
  'order.placed',
  'order.packed',
  'order.shipped',
  'order.delivered',
  'order.cancelled',
  'product.out_of_stock',
] as const
export type EventType = (typeof eventTypes)[number]

/** Every status change has its event type (a compile error here when the table grows). */
export type StatusChangeEvent = `order.${Target}`
const _everyChangeHasAnEvent: StatusChangeEvent extends EventType ? true : never = true
void _everyChangeHasAnEvent

/** `order.placed`: the order exactly as `GET /api/orders/:orderNumber` answered it then. */
export const OrderPlacedData = Order
export type OrderPlacedData = Static<typeof OrderPlacedData>

/**
 * `order.packed` … `order.cancelled`: the order as `GET /api/orders/:orderNumber` answered it
 * right after the change (so `status` is `to`; `carrier` and `trackingNumber` once shipped),
 * plus the change: the status before (`from`), after (`to`) and the staff's note (or null).
 */
export const OrderStatusChangedData = Type.Object({
  ...Order.properties,
  from: Status,
  to: Status,
  note: Type.Union([Type.String(), Type.Null()]),
})
export type OrderStatusChangedData = Static<typeof OrderStatusChangedData>

/** `product.out_of_stock`: an order took the product's last unit (stock is now 0). */
export const ProductOutOfStockData = Type.Object({
  sku: Type.String({ examples: ['MUG-001'] }),
  name: Type.String(),
})
export type ProductOutOfStockData = Static<typeof ProductOutOfStockData>

/** Each event type's `data` schema. */
export const eventData = {
  'order.placed': OrderPlacedData,
  'order.packed': OrderStatusChangedData,
  'order.shipped': OrderStatusChangedData,
  'order.delivered': OrderStatusChangedData,
  'order.cancelled': OrderStatusChangedData,
  'product.out_of_stock': ProductOutOfStockData,
} as const satisfies Record<EventType, TSchema>

/** The `data` of an event of type `T`. */
export type EventData<T extends EventType> = Static<(typeof eventData)[T]>

/**
 * An event as it is sent: the Standard Webhooks payload shape, `{type, timestamp, data}`, with
 * `timestamp` the ISO 8601 UTC instant of the change (the outbox row's created_at, which is the
 * time of the transaction that made the change).
 */
export function eventEnvelope<T extends EventType>(type: T) {
  return Type.Object(
    {
      type: Type.Literal(type),
      timestamp: Type.String({ format: 'date-time', examples: ['2026-11-29T13:10:00.000Z'] }),
      data: eventData[type],
    },
    { description: `The \`${type}\` event as a webhook delivers it.` },
  )
}
export type EventEnvelope<T extends EventType> = {
  type: T
  timestamp: string
  data: EventData<T>
}

/** One envelope schema per event type, for the OpenAPI document and docs/events.md. */
export const eventEnvelopes = Object.fromEntries(eventTypes.map((t) => [t, eventEnvelope(t)])) as {
  [T in EventType]: ReturnType<typeof eventEnvelope<T>>
}
