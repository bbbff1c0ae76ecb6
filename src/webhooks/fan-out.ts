import { type Kysely, type RawBuilder, sql } from 'kysely'
import { PLAN_EACH_RUN } from '../db/connect.ts'
import type { Database } from '../db/schema.ts'
import type { EmailKind } from '../mail/render.ts'

/**
 * Which event makes which shopper e-mail (src/mail): the order's confirmation, its shipping
 * notice, its cancellation notice. One e-mail per such event, whatever made it (the back office
 * page or the API).
 */
export const emailKinds = {
  'order.placed': 'confirmation',
  'order.shipped': 'shipping',
  'order.cancelled': 'cancellation',
} as const satisfies Record<string, EmailKind>

export interface FanOutOptions {
  /**
   * Also make one `order_emails` row per event of a type in emailKinds (mail is on: SMTP_URL
   * set). Every instance must agree: an event fanned out by an instance with mail off
   * is never e-mailed.
   */
  emails?: boolean
}

/**
 * Whether an event of `eventType` written now has a consumer, as a boolean SQL expression: an
 * enabled endpoint wants that type or, with `emails`, the type makes a shopper e-mail
 * (emailKinds). An event nobody wants is written already fanned out (fannedOutUnlessWanted):
 * each fan-out marked an unwanted event with an UPDATE (a new version of the row, payload and
 * all, and its index entries). An `order.placed` nobody wants is not written at all (it was
 * written without its payload since migration 0010): nothing reads an event the fan-out never
 * takes, and its row, one per placed order, cost PostgreSQL 20k instructions an order
 * (docs/benchmarks.md, "Stop 18").
 *
 * The endpoints are read as the writing statement sees them, not as the fan-out does a moment
 * later: an endpoint registered while an order is being placed may or may not get that order's
 * event, as one registered just after a fan-out pass already missed the events it had marked.
 * Reached through their primary key for the reason fanOut gives; an uncorrelated subquery,
 * evaluated once per statement however many orders it places.
 */
export function eventWanted(eventType: string, emails: boolean): RawBuilder<boolean> {
  if (emails && eventType in emailKinds) return sql<boolean>`true`
  return sql<boolean>`exists (
      select from webhook_endpoints e
      where e.id > 0 and e.enabled and ${sql.lit(eventType)} = any (e.event_types)
    )`
}

/**
 * The `fanned_out_at` an order statement writes on an event of `eventType`: null (the dispatcher
 * fans it out) when it is wanted (eventWanted), otherwise now(), as the fan-out would have
 * marked it.
 */
export function fannedOutUnlessWanted(eventType: string, emails: boolean): RawBuilder<unknown> {
  return sql`case when ${eventWanted(eventType, emails)} then null::timestamptz else now() end`
}

/**
 * Turns up to `batchSize` outbox events not yet fanned out, oldest first, into what every
 * consumer of the outbox needs, and marks the events fanned out, all in ONE statement: one
 * `webhook_deliveries` row per enabled endpoint that wants the event's type (the event's order
 * copied, for per-order ordering), and, with `emails`, one `order_emails` row per event that
 * makes a shopper e-mail (emailKinds; addressed to the order's customer e-mail). An event no
 * consumer wants is only marked. Returns how many events it took.
 *
 * `fanned_out_at` is one flag for all consumers, which is why they are all made here: the rows
 * and the mark commit together, so no event is made into a delivery or an e-mail twice or
 * skipped, whatever crashes when.
 *
 * Any number of instances may run it at once: `FOR UPDATE SKIP LOCKED` gives each its own events,
 * and `ON CONFLICT ... DO NOTHING` keeps one delivery per endpoint and event and one e-mail per
 * event and kind whatever happens. Until the statement commits, its events are still "not fanned
 * out", which is what holds back a later event of the same order in claimDue (ordering across
 * instances).
 *
 * Planned on each run: the outbox's unfanned part swings between empty and large. The endpoints
 * are reached through their primary key (`e.id > 0`, true of every row): the service's sessions
 * forbid sequential scans (enable_seqscan = off), and a plan with one, priced as forbidden,
 * crosses PostgreSQL's JIT threshold: 1.5 s compiling a statement that runs in milliseconds.
 */
export async function fanOut(
  db: Kysely<Database>,
  batchSize = 1000,
  { emails = false }: FanOutOptions = {},
): Promise<number> {
  // The kinds are constant text of ours; the payload's e-mail is the order's at the event.
  const kind = sql.join(
    Object.entries(emailKinds).map(([type, k]) => sql`when ${sql.lit(type)} then ${sql.lit(k)}`),
    sql` `,
  )
  const mailed = emails
    ? sql`, mailed as (
      insert into order_emails (event_id, order_id, kind, to_address)
      select b.id, b.order_id, case b.event_type ${kind} end, o.payload->'customer'->>'email'
      from batch b
      join outbox o on o.id = b.id
      where b.event_type in (${sql.join(Object.keys(emailKinds).map((t) => sql.lit(t)))})
        and b.order_id is not null
      order by b.id
      on conflict (event_id, kind) do nothing
    )`
    : sql``
  const { rows } = await sql<{ events: number }>`${sql.raw(PLAN_EACH_RUN)}
    with batch as materialized (
      select id, event_type, order_id from outbox
      where fanned_out_at is null
      order by id
      limit ${batchSize}
      for update skip locked
    ), marked as (
      update outbox o set fanned_out_at = now()
      from batch b where o.id = b.id
      returning o.id
    ), made as (
      insert into webhook_deliveries (endpoint_id, event_id, order_id)
      select e.id, b.id, b.order_id
      from batch b
      join webhook_endpoints e on e.id > 0 and e.enabled and b.event_type = any (e.event_types)
      order by b.id, e.id
      on conflict (endpoint_id, event_id) do nothing
      returning 1
    )${mailed}
    select (select count(*) from marked)::int as events, (select count(*) from made)::int as made
  `.execute(db)
  return rows[0]?.events ?? 0
}
