import { type Kysely, sql } from 'kysely'
import { expect } from 'vitest'
import type { Database } from '../../src/db/schema.ts'
import { insertOrders, seededNumber } from '../admin/seed.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken, signIn } from '../helpers/staff.ts'

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

/**
 * A later event of the order `orderNumber` (`order.packed`) and its delivery to `endpoint`,
 * pending, never tried and due since a minute ago: what the dispatcher leaves while the order's
 * earlier delivery to that endpoint is still pending. Answers the delivery's id.
 */
export async function insertLaterDelivery(
  db: Kysely<Database>,
  endpoint: number,
  orderNumber: string,
): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    with event as (
      insert into outbox (event_type, order_id, payload)
      select 'order.packed', id, '{}'::jsonb from orders where order_number = ${orderNumber}
      returning id, order_id
    )
    insert into webhook_deliveries (endpoint_id, event_id, order_id, status, attempts, next_attempt_at)
    select ${endpoint}, event.id, event.order_id, 'pending', 0, now() - interval '1 minute'
    from event
    returning id
  `.execute(db)
  if (rows[0] === undefined) throw new Error('no delivery inserted')
  return String(rows[0].id)
}

/**
 * The delivery as if its last attempt and its last redelivery were 31 s ago: redelivering is
 * refused for 30 s after either (deliveries.ts, redeliver), which a test need not wait out.
 */
export const thirtySecondsOn = (db: Kysely<Database>, delivery: string | number) =>
  sql`update webhook_deliveries
    set last_attempt_at = last_attempt_at - interval '31 seconds',
      redelivered_at = redelivered_at - interval '31 seconds'
    where id = ${delivery}`.execute(db)

/**
 * A test app with the production URL policy and no dispatcher, an admin's bearer `admin` headers
 * and signed-in `boss` session, and `register()`: a new endpoint for `order.placed` through the
 * API, at `https://93.184.215.14/<path>/<n>`, answering its id.
 */
export async function webhookAdminApp(path: string): Promise<{
  t: TestApp
  admin: Record<string, string>
  boss: { cookie: string; csrf: string }
  register: () => Promise<number>
}> {
  const t = await buildTestApp({ WEBHOOKS_ALLOW_LOCAL: 'false', WEBHOOKS_DISPATCH: 'off' })
  const bossId = await addStaff(t.app, 'boss@example.com', 'admin')
  const admin = { authorization: `Bearer ${await addToken(t.app, bossId)}` }
  const boss = await signIn(t.app, 'boss@example.com')
  let urls = 0
  const register = async () => {
    urls += 1
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/admin/webhooks',
      headers: admin,
      payload: { url: `https://93.184.215.14/${path}/${urls}`, eventTypes: ['order.placed'] },
    })
    expect(res.statusCode, res.body).toBe(201)
    return res.json().id as number
  }
  return { t, admin, boss, register }
}
