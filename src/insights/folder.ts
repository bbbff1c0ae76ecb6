import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/schema.ts'

// Any constant works; it only has to be the same for every instance of this service.
const FOLDER_LOCK = 0x0f0_1d3n

/**
 * Moves up to `batchSize` queued sales into state_product_sales in one statement: the
 * DELETE ... RETURNING feeds the upsert, so a sale is either still queued or counted,
 * never both, never lost, whichever process dies when. The advisory lock keeps one folder
 * per database busy at a time, so instances never fight over the hot aggregate rows.
 * Returns how many queued sales it folded (0 when another instance holds the lock).
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
      returning state, product_id, units
    ), folded as (
      insert into state_product_sales (state, product_id, units)
      select state, product_id, sum(units) from moved group by state, product_id
      on conflict (state, product_id) do update set units = state_product_sales.units + excluded.units
    )
    select count(*)::int as folded from moved
  `.execute(db)
  return rows[0]?.folded ?? 0
}

/** Seconds since the oldest sale still waiting to be folded was queued (0 when none waits). */
export async function insightsLagSeconds(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ lag: number }>`
    select coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as lag from sales_queue
  `.execute(db)
  return rows[0]?.lag ?? 0
}

export interface Folder {
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

  const tick = async () => {
    let folded = 0
    try {
      folded = await foldSales(db, batchSize)
    } catch (err) {
      onError(err)
    }
    if (!stopped)
      timer = setTimeout(() => (running = tick()), folded === batchSize ? 0 : intervalMs)
  }
  timer = setTimeout(() => (running = tick()), intervalMs)

  return {
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}
