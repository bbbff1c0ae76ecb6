import { sql } from 'kysely'
import { Value } from 'typebox/value'
import type { App } from '../../src/app.ts'
import { type EventType, eventData, eventTypes } from '../../src/outbox/events.ts'

/** One outbox row as the tests read it (payload parsed by the driver). */
export interface OutboxRow {
  id: string
  event_type: string
  order_id: string | null
  product_id: number | null
  payload: Record<string, unknown>
  created_at: Date
}

/** Every outbox row, oldest first, optionally only those after `afterId`. */
export async function outboxRows(db: App['db'], afterId = '0'): Promise<OutboxRow[]> {
  const { rows } = await sql<OutboxRow>`
    select id::text as id, event_type, order_id::text as order_id, product_id, payload, created_at
    from outbox where id > ${afterId}::bigint order by id`.execute(db)
  return rows
}

/** The id of the newest outbox row ('0' when there is none): a mark to read what came after. */
export async function outboxMark(db: App['db']): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    select coalesce(max(id), 0)::text as id from outbox`.execute(db)
  return rows[0]?.id ?? '0'
}

/** The events of one order, by its number, oldest first. */
export async function orderEvents(db: App['db'], orderNumber: string): Promise<OutboxRow[]> {
  const { rows } = await sql<OutboxRow>`
    select e.id::text as id, e.event_type, e.order_id::text as order_id, e.product_id, e.payload,
           e.created_at
    from outbox e join orders o on o.id = e.order_id
    where o.order_number = ${orderNumber} order by e.id`.execute(db)
  return rows
}

/** Throws unless the row's payload is valid against its event type's `data` schema. */
export function expectValidData(row: OutboxRow): void {
  const schema = eventData[row.event_type as EventType]
  if (!schema) throw new Error(`unknown event type ${row.event_type}`)
  if (!Value.Check(schema, row.payload)) {
    const errors = [...Value.Errors(schema, row.payload)].slice(0, 3)
    throw new Error(`${row.event_type} payload does not fit its schema: ${JSON.stringify(errors)}`)
  }
}

/** What GET /api/orders/:orderNumber answers for the order (throws unless 200). */
export async function getOrder(app: App, orderNumber: string): Promise<Record<string, unknown>> {
  const res = await app.inject({ url: `/api/orders/${orderNumber}` })
  if (res.statusCode !== 200) throw new Error(`GET ${orderNumber} answered ${res.statusCode}`)
  return res.json()
}

/**
 * Registers an enabled endpoint that wants every event type, so the order statements write
 * `order.placed` with its payload and waiting for the fan-out: an `order.placed` no consumer
 * wants is not written at all, other events no consumer wants are written already fanned out
 * (src/webhooks/fan-out.ts, eventWanted). Its URL never answers, and
 * test apps run without the dispatcher unless asked. Returns what removes it.
 */
export async function consumeEvents(db: App['db']): Promise<() => Promise<void>> {
  const { id } = await db
    .insertInto('webhook_endpoints')
    .values({
      url: 'http://127.0.0.1:9/every-event',
      event_types: [...eventTypes],
      secret: 'whsec_x',
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return async () => {
    await db.deleteFrom('webhook_endpoints').where('id', '=', id).execute()
  }
}
