import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { ttlCache } from '../ttl-cache.ts'
import type { TopProduct } from './schemas.ts'

/**
 * The best sellers of a state (units > 0), read from the folded aggregate: an index range scan
 * (state_product_sales_top: state, units desc, product_id).
 */
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
    // A product whose sales were all cancelled keeps its row at 0 units: not a best seller.
    .where('s.units', '>', 0)
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
