import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import type { Product } from './schemas.ts'

/** The catalogue in SKU order, with current stock. */
export async function listProducts(db: Kysely<Database>): Promise<Product[]> {
  const rows = await db
    .selectFrom('products')
    .select(['sku', 'name', 'description', 'price_cents', 'image_path', 'stock'])
    .orderBy('sku')
    .execute()
  return rows.map((r) => ({
    sku: r.sku,
    name: r.name,
    description: r.description,
    priceCents: r.price_cents,
    imageUrl: r.image_path,
    stock: r.stock,
  }))
}
