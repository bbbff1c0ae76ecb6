import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { catalogue, imagePath } from './catalogue.ts'

/** Inserts the catalogue products that are missing; existing rows (stock, price) are left alone. */
export async function seedCatalogue(db: Kysely<Database>): Promise<void> {
  await db
    .insertInto('products')
    .values(
      catalogue.map((p) => ({
        sku: p.sku,
        name: p.name,
        description: p.description,
        price_cents: p.priceCents,
        image_path: imagePath(p.sku),
        stock: p.stock,
      })),
    )
    .onConflict((oc) => oc.column('sku').doNothing())
    .execute()
}
