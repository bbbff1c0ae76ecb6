import { type Kysely, type RawBuilder, sql } from 'kysely'
import { PLAN_EACH_RUN } from '../db/connect.ts'
import type { Database } from '../db/schema.ts'
import { startPollLoop } from '../plugins/poll-loop.ts'

// Any constant works; it only has to be the same for every instance of this service, and for
// every other writer of the aggregates (the bulk loader takes it too).
export const SALES_FOLD_LOCK = 0x0f0_1d3n

/**
 * Adds sums to the per-state-and-product aggregate: `rows` selects (state, product_id, units,
 * orders, revenue_cents), at most one row per (state, product_id). The one way the aggregate
 * is written: by the sales fold, and by the bulk loader (scripts/seed-orders.ts).
 */
export const addToStateProductSales = (rows: RawBuilder<unknown>) => sql`
  insert into state_product_sales as t (state, product_id, units, orders, revenue_cents)
  ${rows}
  on conflict (state, product_id) do update
  set units = t.units + excluded.units,
      orders = t.orders + excluded.orders,
      revenue_cents = t.revenue_cents + excluded.revenue_cents`

/**
 * Adds sums to the per-state aggregate: `rows` selects (state, orders, units, revenue_cents),
 * at most one row per state. Written like addToStateProductSales, by the same two writers.
 */
export const addToStateSales = (rows: RawBuilder<unknown>) => sql`
  insert into state_sales as t (state, orders, units, revenue_cents)
  ${rows}
  on conflict (state) do update
  set orders = t.orders + excluded.orders,
      units = t.units + excluded.units,
      revenue_cents = t.revenue_cents + excluded.revenue_cents`

/**
 * Moves queued sales into the aggregates in one statement: up to `batchSize` rows of
 * `sales_queue` (a sale each) and the oldest rows of `sales_queue_batches` (one per order
 * statement, an array element per sale: migration 0013) until they hold `batchSize` sales (at
 * least one row). The DELETE ... RETURNINGs feed both upserts (state_product_sales and
 * state_sales), so a sale is either still queued or counted, never both, never lost, whichever
 * process dies when. The advisory lock keeps one sales fold per database busy at a time, so
 * instances never fight over the hot aggregate rows. Returns how many queued sales it folded (0 when another instance
 * holds the lock): `batchSize` or more while more may be waiting.
 *
 * The batch's rows are not locked first (no FOR UPDATE SKIP LOCKED): only a fold deletes queued
 * sales, and a fold runs only under the lock, so no other transaction can hold them; a row a
 * fold that committed just before this one took the lock has deleted is skipped by the DELETE
 * (READ COMMITTED) and, not deleted here, is not returned, so not counted twice. The lock on
 * each row was a second write (and WAL record) per sale: 3k instructions a placed order
 * (docs/benchmarks.md, "Stop 18").
 *
 * The batch is chosen once (a materialized CTE) and the statement is planned on every run: a
 * plan cached while the queue was empty, or after an ANALYZE of an empty queue, ran the
 * `LIMIT` subquery once per queued row, ignored the limit and took 22 s to fold 13,405 sales in
 * one go (10 s statement timeout: a fold stalled for good).
 */
export async function foldSales(db: Kysely<Database>, batchSize = 5000): Promise<number> {
  const { rows } = await foldStatement(batchSize).execute(db)
  return rows[0]?.folded ?? 0
}

/**
 * foldSales's statement (exported for the plan tests). Each DELETE names its rows by primary
 * key (`id = any (array(...))`), not by a join with the batch: the queues are emptied from the
 * head all day, so between autovacuums they hold many dead rows and their statistics say
 * thousands of live ones; with a join the planner then scanned the whole table and hashed it, a
 * cost that grew with the dead rows (5.5 against 2.7 ms for 80 queued order statements on a
 * loaded VM: docs/benchmarks.md, "Stop 22"), every fold, five times a second.
 */
export const foldStatement = (batchSize: number) => sql<{
  folded: number
}>`${sql.raw(PLAN_EACH_RUN)}
    with lock as materialized (
      select pg_try_advisory_xact_lock(${SALES_FOLD_LOCK}) as got
    ), batch as materialized (
      select id from sales_queue
      where (select got from lock)
      order by id
      limit ${batchSize}
    ), moved as (
      delete from sales_queue q
      where q.id = any (array(select id from batch))
      returning q.state, q.product_id, q.units, q.revenue_cents, q.orders
    ), batches as materialized (
      -- Whole rows, oldest first, until they hold batchSize sales (at least one row).
      select id from (
        select id, sum(cardinality(units)) over (order by id) - cardinality(units) as before
        from (select id, units from sales_queue_batches
              where (select got from lock)
              order by id
              limit ${batchSize}) q
      ) c
      where before < ${batchSize}
    ), moved_batches as (
      delete from sales_queue_batches q
      where q.id = any (array(select id from batches))
      returning q.state, q.product_id, q.units, q.revenue_cents, q.orders
    ), sales as materialized (
      select state, product_id, units, revenue_cents, orders from moved
      union all
      select l.state, l.product_id, l.units, l.revenue_cents, l.orders
      from moved_batches m,
           unnest(m.state, m.product_id, m.units, m.revenue_cents, m.orders)
             as l(state, product_id, units, revenue_cents, orders)
    ), by_product as (${addToStateProductSales(sql`
      select state, product_id, sum(units), sum(sign(units)), sum(revenue_cents)
      from sales group by state, product_id`)}
    ), by_state as (${addToStateSales(sql`
      select state, sum(orders), sum(units), sum(revenue_cents) from sales group by state`)}
    )
    select count(*)::int as folded from sales
  `

/**
 * Seconds since the oldest sale still waiting to be folded was queued (0 when none waits): how
 * stale the top three can be at this moment. The freshness target is under one second; a
 * metrics endpoint reads this as a gauge (the queue's first row by primary key: cheap under
 * any backlog).
 */
export async function insightsLagSeconds(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ lag: number }>`
    select coalesce(extract(epoch from now() - least(
      (select created_at from sales_queue order by id limit 1),
      (select created_at from sales_queue_batches order by id limit 1)
    )), 0)::float8 as lag
  `.execute(db)
  return rows[0]?.lag ?? 0
}

export interface SalesFoldStats {
  /** Sales this process folded since it started. */
  folded: number
  /** Fold statements that moved at least one sale. */
  batches: number
  /** Fold statements that failed (each is retried at the next tick). */
  failures: number
  /** Most sales the next fold takes: lowered after a timeout, raised again after successes. */
  batchLimit: number
}

export interface SalesFold {
  /** What this process has folded: with several instances, each counts only its own share. */
  readonly stats: SalesFoldStats
  stop(): Promise<void>
}

export const MAX_FOLD_BATCH = 5000
const MIN_FOLD_BATCH = 50
/** How long the sales fold may be behind (full batches or failures in a row) before it warns. */
const BEHIND_WARNING_MS = 5000

/** 57014 query_canceled: the statement timeout (or a cancel) ended the fold. */
const timedOut = (err: unknown) => (err as { code?: unknown } | null)?.code === '57014'

/**
 * Folds every `intervalMs`, and again at once while batches come back full. stop() waits for
 * the batch in flight, so a graceful shutdown never cuts one (a cut one is rolled back anyway).
 *
 * A fold that times out is retried with a quarter of the batch (down to 50 sales), and each
 * fold that succeeds doubles it again (up to 5,000): a backlog too big for one statement is
 * worked off in smaller ones instead of the same one failing forever. While the fold is
 * behind (full batches or failures) for more than 5 s, `onBehind` is called, at most every
 * 30 s, with how long and the current batch limit (the service logs a warning). `onSuccess`
 * is called after every fold that did not fail. Folds that fail in a row for another reason
 * than a timeout (the database does not answer) are retried later and later, up to every 5 s
 * (retryDelayMs); a timeout is retried after the interval, with the smaller batch.
 */
export function startSalesFold(
  db: Kysely<Database>,
  {
    intervalMs,
    onError,
    onSuccess = () => {},
    onBehind = () => {},
  }: {
    intervalMs: number
    onError: (err: unknown) => void
    onSuccess?: () => void
    onBehind?: (behind: { ms: number; batchLimit: number; failures: number }) => void
  },
): SalesFold {
  const stats: SalesFoldStats = { folded: 0, batches: 0, failures: 0, batchLimit: MAX_FOLD_BATCH }
  let behindSince: number | undefined
  let warnedAt = 0
  /** Whether the last fold was full: more is waiting (it folds again at once). */
  let full = false

  /** After each fold: behind when it was full or failed (then the database may be down). */
  const track = (behind: boolean) => {
    const now = Date.now()
    behindSince = behind ? (behindSince ?? now) : undefined
    if (
      behindSince !== undefined &&
      now - behindSince > BEHIND_WARNING_MS &&
      now - warnedAt > 30_000
    ) {
      warnedAt = now
      onBehind({ ms: now - behindSince, batchLimit: stats.batchLimit, failures: stats.failures })
    }
  }

  const loop = startPollLoop({
    pollMs: intervalMs,
    napFirst: true,
    // A timeout is retried after the interval, with the smaller batch.
    backsOff: (err) => !timedOut(err),
    async pass(more) {
      const limit = stats.batchLimit
      const folded = await foldSales(db, limit)
      stats.folded += folded
      if (folded > 0) stats.batches++
      // A full share from either queue (batchSize sales or more): more may be waiting.
      full = folded >= limit
      if (full) more()
      stats.batchLimit = Math.min(MAX_FOLD_BATCH, limit * 2)
    },
    onSuccess: () => {
      onSuccess()
      track(full)
    },
    onError: (err) => {
      stats.failures++
      if (timedOut(err)) stats.batchLimit = Math.max(MIN_FOLD_BATCH, stats.batchLimit >> 2)
      onError(err)
      track(true)
    },
  })

  return {
    stats,
    stop: loop.stop,
  }
}
