import { type Kysely, sql } from 'kysely'
import type { Database } from '../../src/db/schema.ts'
import { insertOrders, seededNumber } from '../admin/seed.ts'

let offset = 1000

/**
 * A delivery to `endpoint` inserted straight in the tables, as the dispatcher would leave it:
 * a seeded order, its `order.placed` outbox event, and the delivery row. Answers the delivery's
 * id and the order's number.
 */
export async function insertDelivery(
  db: Kysely<Database>,
  endpoint: number,
  row: {
    status: 'pending' | 'delivered' | 'failed'
    attempts: number
    lastResponseStatus?: number
    lastError?: string
  },
): Promise<{ id: string; orderNumber: string }> {
  offset += 1
  await insertOrders(db, 1, { start: new Date(), offset })
  const orderNumber = seededNumber(1, offset)
  const { rows } = await sql<{ id: string }>`
    with ord as (select id from orders where order_number = ${orderNumber}),
    event as (
      insert into outbox (event_type, order_id, payload)
      select 'order.placed', ord.id, '{}'::jsonb from ord
      returning id, order_id
    )
    insert into webhook_deliveries (endpoint_id, event_id, order_id, status, attempts,
      next_attempt_at, last_attempt_at, last_response_status, last_error)
    select ${endpoint}, event.id, event.order_id, ${row.status}, ${row.attempts},
      now() + interval '1 hour', now() - interval '1 minute', ${row.lastResponseStatus ?? null},
      ${row.lastError ?? null}
    from event
    returning id
  `.execute(db)
  const id = rows[0]?.id
  if (id === undefined) throw new Error('no delivery inserted')
  return { id: String(id), orderNumber }
}
