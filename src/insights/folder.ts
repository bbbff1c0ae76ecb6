import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/schema.ts'

// Any constant works; it only has to be the same for every instance of this service, and for
// every other writer of the aggregates (the bulk loader takes it too).
export const FOLDER_LOCK = 0x0f0_1d3n

/**
 * Moves up to `batchSize` queued sales into the aggregates in one statement: the
 * DELETE ... RETURNING feeds both upserts (state_product_sales and state_sales), so a sale is
 * either still queued or counted, never both, never lost, whichever process dies when. The
 * advisory lock keeps one folder per database busy at a time, so instances never fight over
 * the hot aggregate rows. Returns how many queued sales it folded (0 when another instance
 * holds the lock).
 */
export async function foldSales(db: Kysely<Database>, batchSize = 5000): Promise<number> {
  const { rows } = await sql<{ folded: number }>`
    with lock as (
      select pg_try_advisory_xact_lock(${FOLDER_LOCK}) as got
    ), moved as (
      delete from sales_queue
      where id in (
        select id from sales_queue
        where (select got from lock)
        order by id
        limit ${batchSize}
        for update skip locked
      )
      returning state, product_id, units, revenue_cents, orders
    ), by_product as (
      insert into state_product_sales as t (state, product_id, units, orders, revenue_cents)
      select state, product_id, sum(units), count(*), sum(revenue_cents)
      from moved group by state, product_id
      on conflict (state, product_id) do update
      set units = t.units + excluded.units,
          orders = t.orders + excluded.orders,
          revenue_cents = t.revenue_cents + excluded.revenue_cents
    ), by_state as (
      insert into state_sales as t (state, orders, units, revenue_cents)
      select state, sum(orders), sum(units), sum(revenue_cents) from moved group by state
      on conflict (state) do update
      set orders = t.orders + excluded.orders,
          units = t.units + excluded.units,
          revenue_cents = t.revenue_cents + excluded.revenue_cents
    )
    select count(*)::int as folded from moved
  `.execute(db)
  return rows[0]?.folded ?? 0
}

/**
 * Seconds since the oldest sale still waiting to be folded was queued (0 when none waits): how
 * stale the top three can be at this moment. The freshness target is under one second; a
 * metrics endpoint reads this as a gauge (the queue's first row by primary key: cheap under
 * any backlog).
 */
export async function insightsLagSeconds(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ lag: number }>`
    select coalesce(extract(epoch from now() - (
      select created_at from sales_queue order by id limit 1
    )), 0)::float8 as lag
  `.execute(db)
  return rows[0]?.lag ?? 0
}

export interface FolderStats {
  /** Sales this process folded since it started. */
  folded: number
  /** Fold statements that moved at least one sale. */
  batches: number
}

export interface Folder {
  /** What this process has folded: with several instances, each counts only its own share. */
  readonly stats: FolderStats
  stop(): Promise<void>
}

/**
 * Folds every `intervalMs`, and again at once while batches come back full. stop() waits for
 * the batch in flight, so a graceful shutdown never cuts one (a cut one is rolled back anyway).
 */
export function startFolder(
  db: Kysely<Database>,
  { intervalMs, onError }: { intervalMs: number; onError: (err: unknown) => void },
): Folder {
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  const batchSize = 5000
  const stats: FolderStats = { folded: 0, batches: 0 }

  const tick = async () => {
    let folded = 0
    try {
      folded = await foldSales(db, batchSize)
      stats.folded += folded
      if (folded > 0) stats.batches++
    } catch (err) {
      onError(err)
    }
    if (!stopped)
      timer = setTimeout(() => (running = tick()), folded === batchSize ? 0 : intervalMs)
  }
  timer = setTimeout(() => (running = tick()), intervalMs)

  return {
    stats,
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}
