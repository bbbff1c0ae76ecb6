import { type Kysely, sql } from 'kysely'
import { retryTransient } from '../db/retry.ts'
import type { Database } from '../db/schema.ts'
import { orderItemsJson, orderJson } from '../outbox/payloads.ts'
import { maxStock } from '../products/schemas.ts'
import { canTransition, type OrderStatus, refusal, statusesBefore } from './transitions.ts'

/** One status change as the back office asks for it. */
export interface StatusChange {
  /** Canonical (`XXXXX-XXXXX`). */
  orderNumber: string
  to: OrderStatus
  /**
   * The versions the caller saw (from If-Match): the change is made only while the order is
   * at one of them. Empty: none matches.
   */
  expectedVersions: readonly number[]
  /** Who makes the change (staff.id), or null. */
  staffId: number | null
  note?: string | undefined
  /** Required with `to: 'shipped'`, refused with any other status. */
  carrier?: string | undefined
  trackingNumber?: string | undefined
}

/**
 * What came of a change: typed values the route turns into status codes.
 * - `changed`: made; the order is now at `version` (200).
 * - `invalid`: the request itself is wrong (400), e.g. shipping without a tracking number, for
 *   a change the order's status allows (else `illegal`).
 * - `not-found` (404).
 * - `illegal`: the table does not allow `to` after the current status (409); `message` names
 *   the current status.
 * - `stale`: the change is allowed, but the order is no longer at an expected version (412).
 * - `too-much-stock`: a cancel whose units put back would take `sku`'s stock past the integer
 *   column (409, as a restock that would); `message` says so.
 */
export type ChangeResult =
  | { kind: 'changed'; status: OrderStatus; version: number }
  | { kind: 'invalid'; field: 'carrier' | 'trackingNumber'; message: string }
  | { kind: 'not-found' }
  | { kind: 'illegal'; current: OrderStatus; message: string }
  | { kind: 'stale'; current: OrderStatus; version: number }
  | { kind: 'too-much-stock'; sku: string; message: string }

interface ChangeRow {
  /** The order's status and version when its row was locked, before this change. */
  status: OrderStatus
  version: number
  /** The version after the change; null when it was not made. */
  new_version: number | null
  /** A cancel not made because this product's stock would pass maxStock; else null. */
  too_much: string | null
}

/** Why `change` is malformed whatever the order's state (shipping details), or undefined. */
function shippingProblem({
  to,
  carrier,
  trackingNumber,
}: StatusChange): Omit<ChangeResult & { kind: 'invalid' }, 'kind'> | undefined {
  if (to === 'shipped') {
    if (!carrier) return { field: 'carrier', message: 'carrier is required to ship an order' }
    if (!trackingNumber)
      return { field: 'trackingNumber', message: 'trackingNumber is required to ship an order' }
    return undefined
  }
  if (carrier !== undefined || trackingNumber !== undefined) {
    return {
      field: carrier !== undefined ? 'carrier' : 'trackingNumber',
      message: 'carrier and trackingNumber are recorded only when an order is shipped',
    }
  }
  return undefined
}

/**
 * Changes an order's status in one SQL statement, so in one transaction, all or nothing:
 *
 * 1. lock the order's row (FOR NO KEY UPDATE: a second change of the same order waits here,
 *    then reads the row as the first one left it);
 * 2. check the transition against the table (transitions.ts) and the version against
 *    `expectedVersions`; when either fails nothing below happens;
 * 3. for a cancel: lock the order's products in id order (as placing an order does, so cancels
 *    and orders take no two rows in opposite orders; PostgreSQL can still report a deadlock
 *    among three or more statements queued on one product row while it is updated, seen with
 *    the CPU saturated: test/lifecycle/concurrency.test.ts, docs/benchmarks.md stop 16; it is
 *    retried, below); when a line's units would take its product's stock past the
 *    integer column, stop here (nothing below happens: `too-much-stock`, not a failed
 *    statement); else put each line's units back into stock, and queue NEGATIVE sales
 *    (units, revenue and the order count negated, the shape placeOrder queues) so the sales fold
 *    takes the order out of the insights aggregates exactly once;
 * 4. set the status (and carrier and tracking number when shipping), version + 1;
 * 5. append the order_events row: from, to, who, note; created_at is the transaction's time;
 * 6. append the outbox event `order.<to>` (src/outbox/events.ts): the order as it now is, with
 *    from, to and note, so no change goes without its event and no event without its change.
 *
 * Because the cancel's work hangs on step 2, which reads the row locked in step 1, two cancels
 * of one order on two instances return the stock once: the second finds `cancelled` (409).
 * Refusals are decided in this order: 404, 409 (`illegal`), 400 (`invalid`: shipping details
 * missing, or given to another change, which an allowed change only is told), 412 (`stale`),
 * 409 (`too-much-stock`):
 * a change the table refuses is refused whatever version was sent (RFC 9110 §13.2.1: a
 * precondition is ignored when the answer without it would not be 2xx).
 *
 * A deadlock or serialization failure rolled the statement back whole: it is run again.
 */
export async function changeOrderStatus(
  db: Kysely<Database>,
  change: StatusChange,
): Promise<ChangeResult> {
  const problem = shippingProblem(change)
  if (problem) {
    // Asking for shipping details of a change the order's status refuses would have the client
    // fix them, then meet the 409: the status is read first (only this refused request pays
    // the read; the version is not checked, as a 400 would be the answer whatever it is).
    const order = await db
      .selectFrom('orders')
      .select('status')
      .where('order_number', '=', change.orderNumber)
      .executeTakeFirst()
    if (!order) return { kind: 'not-found' }
    const current = order.status as OrderStatus
    if (!canTransition(current, change.to)) {
      return { kind: 'illegal', current, message: refusal(change.orderNumber, current, change.to) }
    }
    return { kind: 'invalid', ...problem }
  }
  const row = await retryTransient(() => changeStatement(db, change))
  if (!row) return { kind: 'not-found' }
  if (row.too_much !== null) {
    const message = `Order ${change.orderNumber} cannot be cancelled: putting its units back would take ${row.too_much} past ${maxStock.toLocaleString('en-US')} units, the most one product can hold.`
    return { kind: 'too-much-stock', sku: row.too_much, message }
  }
  if (row.new_version !== null) {
    return { kind: 'changed', status: change.to, version: row.new_version }
  }
  if (!canTransition(row.status, change.to)) {
    const message = refusal(change.orderNumber, row.status, change.to)
    return { kind: 'illegal', current: row.status, message }
  }
  return { kind: 'stale', current: row.status, version: row.version }
}

async function changeStatement(
  db: Kysely<Database>,
  { orderNumber, to, expectedVersions, staffId, note, carrier, trackingNumber }: StatusChange,
): Promise<ChangeRow | undefined> {
  const lineItems = orderItemsJson({
    sku: 'p.sku',
    name: 'p.name',
    quantity: 'l.quantity',
    unitPriceCents: 'l.unit_price_cents',
  })
  const { rows } = await sql<ChangeRow>`
    with target as (
      select id, status, version, state from orders
      where order_number = ${orderNumber}
      for no key update
    ), allowed as (
      select * from target
      where status = any(${statusesBefore(to)}::text[])
        and version = any(${[...expectedVersions]}::int[])
    ), lines as (
      select l.product_id, l.quantity, l.unit_price_cents
      from order_lines l join allowed a on a.id = l.order_id
      where ${to === 'cancelled'}::boolean
    ), locked as (
      -- A locked row is read as its latest version: the stock the update below adds to.
      select p.id, p.sku, p.stock from products p
      where p.id in (select product_id from lines)
      order by p.id
      for no key update of p
    ), too_much as (
      select k.sku from lines l join locked k on k.id = l.product_id
      where k.stock::bigint + l.quantity > ${maxStock}
      order by k.sku
      limit 1
    ), proceed as (
      select a.* from allowed a where not exists (select from too_much)
    ), restocked as (
      update products p set stock = p.stock + l.quantity
      from lines l join locked k on k.id = l.product_id
      where p.id = l.product_id and exists (select from proceed)
    ), unsold as (
      insert into sales_queue (state, product_id, units, revenue_cents, orders)
      select a.state, l.product_id, -l.quantity, -(l.quantity::bigint * l.unit_price_cents),
             -((row_number() over (order by l.product_id) = 1)::int)
      from proceed a, lines l
    ), changed as (
      update orders o
      set status = ${to}, version = o.version + 1,
          carrier = coalesce(${carrier ?? null}::text, o.carrier),
          tracking_number = coalesce(${trackingNumber ?? null}::text, o.tracking_number)
      from proceed a
      where o.id = a.id
      returning o.*
    ), event as (
      insert into order_events (order_id, from_status, to_status, staff_id, note)
      select a.id, a.status, ${to}, ${staffId}::int, ${note ?? null}::text from proceed a
    ), outbox_event as (
      -- The order as GET /api/orders/:orderNumber shows it after the change, and the change.
      insert into outbox (event_type, order_id, payload)
      select 'order.' || c.status, c.id,
             ${orderJson('c', sql`(select ${lineItems} from order_lines l join products p on p.id = l.product_id where l.order_id = c.id)`)}
             || jsonb_build_object('from', a.status, 'to', c.status, 'note', ${note ?? null}::text)
      from changed c join allowed a on a.id = c.id
    )
    select t.status, t.version, (select version from changed) as new_version,
           (select sku from too_much) as too_much
    from target t
  `.execute(db)
  return rows[0]
}
