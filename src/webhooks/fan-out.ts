import { type Kysely, sql } from 'kysely'
import { PLAN_EACH_RUN } from '../db/connect.ts'
import type { Database } from '../db/schema.ts'

/**
 * Turns up to `batchSize` outbox events not yet fanned out, oldest first, into deliveries: one
 * `webhook_deliveries` row per enabled endpoint that wants the event's type (the event's order
 * copied, for per-order ordering), and marks the events fanned out, all in ONE statement. An
 * event no endpoint wants is only marked. Returns how many events it took.
 *
 * Any number of instances may run it at once: `FOR UPDATE SKIP LOCKED` gives each its own events,
 * and `ON CONFLICT (endpoint_id, event_id) DO NOTHING` keeps one delivery per endpoint and event
 * whatever happens. Until the statement commits, its events are still "not fanned out", which is
 * what holds back a later event of the same order in claimDue (ordering across instances).
 *
 * Planned on each run: the outbox's unfanned part swings between empty and large. The endpoints
 * are reached through their primary key (`e.id > 0`, true of every row): the service's sessions
 * forbid sequential scans (enable_seqscan = off), and a plan with one, priced as forbidden,
 * crosses PostgreSQL's JIT threshold: 1.5 s compiling a statement that runs in milliseconds.
 */
export async function fanOut(db: Kysely<Database>, batchSize = 1000): Promise<number> {
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
    )
    select (select count(*) from marked)::int as events, (select count(*) from made)::int as made
  `.execute(db)
  return rows[0]?.events ?? 0
}
