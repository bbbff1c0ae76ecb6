import type { Kysely } from 'kysely'

/**
 * The back office's products (issue 15): `products.on_sale`, true unless staff took the product
 * off sale. An off-sale product is not offered (order form, GET /api/products) and an order
 * for it is refused like one for an unknown product; its past orders and sales are untouched.
 * A column with a constant default is a catalogue change only (PostgreSQL 11+): no table rewrite.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('products')
    .addColumn('on_sale', 'boolean', (c) => c.notNull().defaultTo(true))
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('products').dropColumn('on_sale').execute()
}
