import { type Kysely, sql } from 'kysely'
import type { Database } from '../../src/db/schema.ts'

export const seedStates = ['TX', 'CA', 'NY', 'WA', 'FL', 'IL', 'OH', 'GA', 'PA', 'MI']
export const seedStatuses = ['placed', 'packed', 'shipped', 'delivered', 'cancelled']

/**
 * Inserts `n` orders straight into `orders` with generate_series (no lines, no stock taken:
 * for the list, which reads orders alone). Order g (1..n) is placed at `start + g * stepMs`
 * (stepMs 0: all at one instant), in state seedStates[g % 10] and status seedStatuses[g % 5]
 * (shipped and delivered with a carrier and tracking number), by `c<g>-<offset>@example.com`.
 * Numbers are `Z` + 9 hex digits of g + offset, so distinct calls take distinct offsets.
 */
export async function insertOrders(
  db: Kysely<Database>,
  n: number,
  { start, stepMs = 1000, offset = 0 }: { start: Date; stepMs?: number; offset?: number },
) {
  await sql`
    insert into orders (order_number, idempotency_key, request_hash, customer_name, email,
                        address, city, state, zip, status, total_cents, created_at, carrier,
                        tracking_number)
    select 'Z' || substr(h, 1, 4) || '-' || substr(h, 5, 5), 'seed:' || h, 'x', 'Customer ' || g,
           'c' || g || '-' || ${offset}::int || '@example.com', '1 Main St', 'Austin',
           (${seedStates}::text[])[1 + g % 10], '78701', (${seedStatuses}::text[])[1 + g % 5],
           1000 + g, ${start.toISOString()}::timestamptz + interval '1 millisecond' * (g::bigint * ${stepMs}::int),
           case when g % 5 in (2, 3) then 'UPS' end, case when g % 5 in (2, 3) then '1Z' || g end
    from (select g, upper(lpad(to_hex(g + ${offset}::int), 9, '0')) as h
          from generate_series(1, ${n}::int) g) s
  `.execute(db)
}

/** The canonical number of seeded order g (offset as given to insertOrders). */
export const seededNumber = (g: number, offset = 0) => {
  const h = (g + offset).toString(16).toUpperCase().padStart(9, '0')
  return `Z${h.slice(0, 4)}-${h.slice(4)}`
}
