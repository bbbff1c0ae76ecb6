import type { Kysely } from 'kysely'

/**
 * `products.version`: starts at 1 and grows by one with every change staff make to a product
 * (a restock, a price, on or off sale), like `orders.version` (migration 0004). A restock may
 * name the version it was decided on (If-Match in the API, a hidden field in the page's form),
 * so a retry or a second click of the same form adds nothing. Orders taking stock and cancels
 * putting it back do not change it: a restock never conflicts with sales.
 * A column with a constant default is a catalogue change only (PostgreSQL 11+): no table rewrite.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('products')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('products').dropColumn('version').execute()
}
