import type { ColumnType, Generated } from 'kysely'

// bigint columns come back as string (pg) or bigint (PGlite); map them with Number() on read.
type Int8 = ColumnType<string | number | bigint, number | bigint, number | bigint>

export interface ProductsTable {
  id: Generated<number>
  sku: string
  name: string
  description: string
  price_cents: number
  image_path: string
  stock: number
  /** False once staff take the product off sale: not offered, not orderable (migration 0006). */
  on_sale: Generated<boolean>
  /** Grows by one with every staff change (restock, price, sale); not with orders (0012). */
  version: Generated<number>
}

export interface OrdersTable {
  id: Generated<Int8>
  order_number: string
  idempotency_key: string
  request_hash: string
  // The customer's columns (customer_name, email, address, city, state, zip) are added by
  // src/orders/customer.ts from its list of customer fields.
  status: Generated<string>
  total_cents: Int8
  created_at: Generated<Date>
  /** 1 when placed, one more with each status change: the order's ETag (src/lifecycle). */
  version: Generated<number>
  /** Set when shipped, with tracking_number. */
  carrier: string | null
  tracking_number: string | null
}

/** One status change of an order, written in the transaction that makes it (src/lifecycle). */
export interface OrderEventsTable {
  id: Generated<Int8>
  order_id: Int8
  from_status: string
  to_status: string
  /** Who made the change; null when no staff member did. */
  staff_id: number | null
  note: string | null
  created_at: Generated<Date>
}

export interface OrderLinesTable {
  order_id: Int8
  product_id: number
  quantity: number
  unit_price_cents: number
}

export interface SalesQueueTable {
  id: Generated<Int8>
  state: string
  product_id: number
  units: number
  /** The line's quantity times its captured unit price. */
  revenue_cents: ColumnType<string | number | bigint, number | bigint | undefined, never>
  /** 1 on the first line of an order, 0 on its others: counts orders per state exactly. */
  orders: Generated<number>
  created_at: Generated<Date>
}

/**
 * The sales of one order statement, waiting for the sales fold (migration 0013): one element per
 * order line in each array, the values a sales_queue row holds.
 */
export interface SalesQueueBatchesTable {
  id: Generated<Int8>
  state: string[]
  product_id: number[]
  units: number[]
  revenue_cents: ColumnType<string[], (number | bigint)[], never>
  orders: number[]
  created_at: Generated<Date>
}

export interface StateProductSalesTable {
  state: string
  product_id: number
  units: Int8
  /** Orders with this product (an order has at most one line per product). */
  orders: Int8
  revenue_cents: Int8
}

export interface StateSalesTable {
  state: string
  orders: Int8
  units: Int8
  revenue_cents: Int8
}

export interface StaffTable {
  id: Generated<number>
  /** As typed (trimmed); unique by lower(email). */
  email: string
  role: 'staff' | 'admin'
  /** argon2id PHC string: `$argon2id$v=19$m=…,t=…,p=…$salt$hash`. */
  password_hash: string
  disabled_at: Date | null
  created_at: Generated<Date>
}

export interface StaffSessionsTable {
  /** SHA-256 (hex) of the cookie's random value; the value itself is never stored. */
  id: string
  staff_id: number
  csrf_secret: string
  created_at: Generated<Date>
  last_seen_at: Generated<Date>
  expires_at: Date
}

export interface StaffTokensTable {
  id: Generated<number>
  staff_id: number
  /** SHA-256 (hex) of the token, which is shown once and never stored. */
  token_hash: string
  created_at: Generated<Date>
  last_used_at: Date | null
  revoked_at: Date | null
}

export interface StaffLoginAttemptsTable {
  id: Generated<Int8>
  /** Lower-cased e-mail as typed, whether or not such staff exists. */
  email: string
  address: string
  attempted_at: Generated<Date>
}

/** One event, written with its change (migration 0007, issue 16). */
export interface OutboxTable {
  /** This database's number for the event: orders an order's events (not unique elsewhere). */
  id: Generated<Int8>
  /** `order.placed`, `order.packed`, `order.shipped`, `order.delivered`, `order.cancelled`, `product.out_of_stock`. */
  event_type: string
  /** The order the event is about; its events are delivered in id order. */
  order_id: Int8 | null
  product_id: number | null
  /**
   * The event's `data` as it was when it happened; null only on a row written already fanned out,
   * an event no consumer wanted (migration 0010), whose payload nothing reads.
   */
  payload: ColumnType<unknown, string | null, never>
  created_at: Generated<Date>
  /** Null until the dispatcher has made its deliveries. */
  fanned_out_at: Date | null
  /**
   * A random UUID, the event's id outside this database (`webhook-id` is `evt_` + it; migration
   * 0015). `id` is unique only within one database; this is unique across databases and restores.
   */
  public_id: Generated<string>
}

/** A receiver of events (migration 0008, issue 16). */
export interface WebhookEndpointsTable {
  id: Generated<number>
  url: string
  description: Generated<string>
  /** Event types wanted, e.g. `{order.placed,order.shipped}`; never empty. */
  event_types: string[]
  /** Standard Webhooks secret, `whsec_` + base64; shown once, never logged. */
  secret: string
  /**
   * The secret the latest rotation replaced, still signing deliveries (after `secret`'s
   * signature) until `previous_secret_until`; both null when there is none (migration 0018).
   * Never shown, never logged.
   */
  previous_secret: string | null
  previous_secret_until: Date | null
  enabled: Generated<boolean>
  /** Why it was disabled when the dispatcher disabled it (failing for days); null otherwise. */
  disabled_reason: string | null
  /** Start of the current run of failed attempts; null after a 2xx. */
  failing_since: Date | null
  created_by: number | null
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

/** One event for one endpoint: the queue (`pending`) and the record (migration 0008). */
export interface WebhookDeliveriesTable {
  id: Generated<Int8>
  endpoint_id: number
  /** outbox.id */
  event_id: Int8
  /** outbox.order_id: an order's deliveries to an endpoint go out in event order. */
  order_id: Int8 | null
  status: Generated<'pending' | 'delivered' | 'failed'>
  attempts: Generated<number>
  next_attempt_at: Generated<Date>
  last_attempt_at: Date | null
  /** When an admin last asked to send it again (redeliver; migration 0019); null if never. */
  redelivered_at: Date | null
  last_response_status: number | null
  last_error: string | null
  delivered_at: Date | null
  created_at: Generated<Date>
}

/** One e-mail to a shopper, made from an outbox event: the queue and the record (migration 0009). */
export interface OrderEmailsTable {
  id: Generated<Int8>
  /** outbox.id of the `order.placed`, `order.shipped` or `order.cancelled` event. */
  event_id: Int8
  order_id: Int8
  /** `cancellation` since migration 0017 (src/mail/render.ts, EmailKind). */
  kind: 'confirmation' | 'shipping' | 'cancellation'
  to_address: string
  status: Generated<'pending' | 'sent' | 'failed'>
  /** Attempts begun (a leased row counts its attempt in flight). */
  attempts: Generated<number>
  /** When a pending row is due; while leased, when the lease ends. */
  next_attempt_at: Generated<Date>
  last_error: string | null
  sent_at: Date | null
  /** When the e-mail was queued, or queued again (`npm run mail -- requeue-failed`): its 24 h start. */
  created_at: Generated<Date>
}

export interface Database {
  staff: StaffTable
  staff_sessions: StaffSessionsTable
  staff_tokens: StaffTokensTable
  staff_login_attempts: StaffLoginAttemptsTable
  products: ProductsTable
  orders: OrdersTable
  order_lines: OrderLinesTable
  order_events: OrderEventsTable
  sales_queue: SalesQueueTable
  sales_queue_batches: SalesQueueBatchesTable
  state_product_sales: StateProductSalesTable
  state_sales: StateSalesTable
  outbox: OutboxTable
  webhook_endpoints: WebhookEndpointsTable
  webhook_deliveries: WebhookDeliveriesTable
  order_emails: OrderEmailsTable
}
