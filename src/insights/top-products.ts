import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { ttlCache } from '../ttl-cache.ts'
import type { TopProduct } from './schemas.ts'

/** The best sellers of a state, read from the folded aggregate: an index range scan. */
export async function topProducts(
  db: Kysely<Database>,
  state: string,
  limit = 3,
): Promise<TopProduct[]> {
  const rows = await db
    .selectFrom('state_product_sales as s')
    .innerJoin('products as p', 'p.id', 's.product_id')
    .select(['p.sku', 'p.name', 's.units'])
    .where('s.state', '=', state)
    .orderBy('s.units', 'desc')
    .orderBy('s.product_id')
    .limit(limit)
    .execute()
  return rows.map((r) => ({ sku: r.sku, name: r.name, units: Number(r.units) }))
}

/**
 * Top three per state, kept for `ttlMs` per process: every confirmation page needs them, and
 * they change slowly. Concurrent misses for one state share one query.
 */
export function cachedTopProducts(db: Kysely<Database>, ttlMs: number) {
  return ttlCache((state: string) => topProducts(db, state), ttlMs)
}
