import type { Kysely } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import type { Database } from '../db/schema.ts'
import { findOrderByNumber } from '../orders/queries.ts'
import type { AdminOrder, HistoryEntry } from './schemas.ts'
import type { OrderStatus } from './transitions.ts'

/**
 * The order's lifecycle as one statement reads it (one snapshot): status, version, shipping
 * details and every change, oldest first (a range scan of order_events_order).
 */
function selectLifecycle(db: Kysely<Database>, orderNumber: string) {
  return db
    .selectFrom('orders as o')
    .select((eb) => [
      'o.status',
      'o.version',
      'o.carrier',
      'o.tracking_number',
      jsonArrayFrom(
        eb
          .selectFrom('order_events as e')
          .leftJoin('staff as s', 's.id', 'e.staff_id')
          .select([
            'e.from_status',
            'e.to_status',
            'e.staff_id',
            's.email',
            'e.note',
            'e.created_at',
          ])
          .whereRef('e.order_id', '=', 'o.id')
          .orderBy('e.id'),
      ).as('history'),
    ])
    .where('o.order_number', '=', orderNumber)
}

type EventRow = Awaited<
  ReturnType<ReturnType<typeof selectLifecycle>['executeTakeFirstOrThrow']>
>['history'][number]

function toHistoryEntry(e: EventRow): HistoryEntry {
  return {
    from: e.from_status as OrderStatus,
    to: e.to_status as OrderStatus,
    staff: e.staff_id === null ? null : { id: e.staff_id, email: e.email ?? '' },
    note: e.note,
    // JSON carries the timestamp as PostgreSQL's text: read back as an ISO instant.
    at: new Date(e.created_at).toISOString(),
  }
}

/**
 * The order with this canonical number as the back office sees it (items and customer as the
 * shopper's order has them, then its lifecycle), or undefined.
 */
export async function findAdminOrder(
  db: Kysely<Database>,
  orderNumber: string,
): Promise<AdminOrder | undefined> {
  const [order, lifecycle] = await Promise.all([
    findOrderByNumber(db, orderNumber),
    selectLifecycle(db, orderNumber).executeTakeFirst(),
  ])
  if (!order || !lifecycle) return undefined
  return {
    ...order,
    status: lifecycle.status as OrderStatus,
    version: lifecycle.version,
    carrier: lifecycle.carrier,
    trackingNumber: lifecycle.tracking_number,
    history: lifecycle.history.map(toHistoryEntry),
  }
}
