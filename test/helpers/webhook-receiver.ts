import { randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Kysely, sql } from 'kysely'
import type { Database } from '../../src/db/schema.ts'

/** One request a receiver got. */
export interface Received {
  /** The request's path and query, as the endpoint's URL has them. */
  path: string
  id: string
  timestamp: string
  signature: string
  body: string
  type: string
  data: Record<string, unknown>
  /** What the receiver answered (0: it stalled and never answered). */
  answered: number
  at: number
}

/** A status code, or one with response headers (`Retry-After`, say). */
export type Reply = number | { status: number; headers: Record<string, string> }

/**
 * What to answer the n-th request (1-based, over all requests) carrying `received`: a status
 * code or Reply (or a promise of one: answered when it settles), or 'stall' (never answer; the
 * socket stays open until the sender gives up).
 */
export type Answer = (received: Received, n: number) => Reply | Promise<Reply> | 'stall'

/**
 * A webhook receiver: a real node:http server on 127.0.0.1 that records every request and
 * answers as `answer` says (200 by default; `setAnswer` changes it). `down()` closes it (its port
 * refuses connections), `up()` listens again on the same port.
 */
export async function startReceiver(answer: Answer = () => 200) {
  const received: Received[] = []
  let respond = answer
  const stalled = new Set<http.ServerResponse>()
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      const parsed = JSON.parse(body) as { type: string; data: Record<string, unknown> }
      const r: Received = {
        path: req.url ?? '',
        id: String(req.headers['webhook-id']),
        timestamp: String(req.headers['webhook-timestamp']),
        signature: String(req.headers['webhook-signature']),
        body,
        type: parsed.type,
        data: parsed.data,
        answered: 0,
        at: Date.now(),
      }
      received.push(r)
      const a = respond(r, received.length)
      if (a === 'stall') {
        stalled.add(res)
        return
      }
      void Promise.resolve(a).then((reply) => {
        const { status, headers } =
          typeof reply === 'number' ? { status: reply, headers: {} } : reply
        r.answered = status
        res.writeHead(status, { 'content-type': 'text/plain', ...headers })
        res.end(status < 300 ? 'ok' : `status ${status}`)
      })
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const close = () =>
    new Promise<void>((resolve) => {
      for (const res of stalled) res.destroy()
      stalled.clear()
      server.close(() => resolve())
      server.closeAllConnections()
    })
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    /** Requests answered 2xx, in arrival order. */
    delivered: () => received.filter((r) => r.answered >= 200 && r.answered < 300),
    setAnswer: (a: Answer) => {
      respond = a
    },
    down: close,
    up: () => new Promise<void>((r) => server.listen(port, '127.0.0.1', r)),
    close,
  }
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>

/** A Standard Webhooks secret: whsec_ + base64 of 32 random bytes. */
export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`

/** Registers an endpoint straight in the database; returns its id and secret. */
export async function insertEndpoint(
  db: Kysely<Database>,
  url: string,
  eventTypes: string[] = ['order.placed', 'order.packed', 'order.shipped', 'order.cancelled'],
  secret = newSecret(),
): Promise<{ id: number; secret: string }> {
  const row = await db
    .insertInto('webhook_endpoints')
    .values({ url, event_types: eventTypes, secret })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { id: row.id, secret }
}

/**
 * Writes outbox events straight in the database (as the order path would); returns their ids in
 * order. `orderId` null for events about no order.
 */
export async function insertEvents(
  db: Kysely<Database>,
  events: { type: string; orderId: number | null; data?: Record<string, unknown> }[],
): Promise<string[]> {
  const ids: string[] = []
  for (const e of events) {
    const { rows } = await sql<{ id: string }>`
      insert into outbox (event_type, order_id, payload)
      values (${e.type}, ${e.orderId}, ${JSON.stringify(e.data ?? { orderId: e.orderId })}::jsonb)
      returning id::text as id
    `.execute(db)
    ids.push((rows[0] as { id: string }).id)
  }
  return ids
}

/** The `webhook-id` the dispatcher sends for each outbox event of `eventIds`, in their order. */
export async function webhookIdsOf(db: Kysely<Database>, eventIds: string[]): Promise<string[]> {
  const { rows } = await sql<{ id: string; public_id: string }>`
    select id::text as id, public_id::text as public_id from outbox
    where id = any(${eventIds}::bigint[])
  `.execute(db)
  const byId = new Map(rows.map((r) => [r.id, `evt_${r.public_id}`]))
  return eventIds.map((id) => byId.get(id) ?? `no event ${id}`)
}

/** Many events in one statement: `count` orders from `firstOrder`, each with `types` in order. */
export async function insertOrderEvents(
  db: Kysely<Database>,
  firstOrder: number,
  count: number,
  types: string[],
): Promise<void> {
  await sql`
    insert into outbox (event_type, order_id, payload)
    select t.type, g, jsonb_build_object('orderId', g, 'step', t.n)
    from generate_series(${firstOrder}::int, ${firstOrder + count - 1}::int) g
    cross join unnest(${types}::text[]) with ordinality as t(type, n)
    order by g, t.n
  `.execute(db)
}

/** The deliveries' statuses, counted. */
export async function deliveryCounts(db: Kysely<Database>) {
  const { rows } = await sql<{ status: string; n: number }>`
    select status, count(*)::int as n from webhook_deliveries group by status
  `.execute(db)
  return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>
}
