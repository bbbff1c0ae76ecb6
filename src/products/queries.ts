import { type Kysely, type Selectable, sql } from 'kysely'
import type { Database, ProductsTable } from '../db/schema.ts'
import { type AdminProduct, maxStock, type Product, type ProductPatch } from './schemas.ts'

const columns = ['sku', 'name', 'description', 'price_cents', 'image_path', 'stock'] as const

/** A product's row as read here (every column but the id). */
type ProductRow = Omit<Selectable<ProductsTable>, 'id'>

const toProduct = (r: Omit<ProductRow, 'on_sale' | 'version'>): Product => ({
  sku: r.sku,
  name: r.name,
  description: r.description,
  priceCents: r.price_cents,
  imageUrl: r.image_path,
  stock: r.stock,
})

const toAdminProduct = (r: ProductRow): AdminProduct => ({
  ...toProduct(r),
  onSale: r.on_sale,
  version: r.version,
})

/** What the back office reads of a product: what shoppers see, whether on sale, its version. */
const adminColumns = [...columns, 'on_sale', 'version'] as const

/** The catalogue on sale, in SKU order, with current stock: what shoppers are offered. */
export async function listProducts(db: Kysely<Database>): Promise<Product[]> {
  const rows = await db
    .selectFrom('products')
    .select(columns)
    .where('on_sale', '=', true)
    .orderBy('sku')
    .execute()
  return rows.map(toProduct)
}

/** Every product, on sale or not, in SKU order: the back office's list. */
export async function listAllProducts(db: Kysely<Database>): Promise<AdminProduct[]> {
  const rows = await db.selectFrom('products').select(adminColumns).orderBy('sku').execute()
  return rows.map(toAdminProduct)
}

export type RestockResult =
  | { kind: 'restocked'; product: AdminProduct }
  | { kind: 'not-found' }
  /** The stock would pass maxStock. */
  | { kind: 'too-much'; stock: number }
  /** The product's version is none of those expected: changed since they were read. */
  | { kind: 'stale'; product: AdminProduct }

/**
 * Adds `units` (1..1,000,000, checked by the caller) to a product's stock in one statement,
 * `stock = stock + units`, and its version by one: atomic against orders taking stock and
 * cancels putting it back at the same moment (the row lock orders them; nothing is read first
 * and written later). With `expectedVersions` (If-Match's, or the page form's one), only when
 * the product's version is one of them: a retry or a second submit of the same form finds the
 * version moved on and adds nothing (`stale`). Writes nothing else. A sum past the integer
 * column is refused rather than failing the statement.
 */
export async function restockProduct(
  db: Kysely<Database>,
  sku: string,
  units: number,
  expectedVersions?: readonly number[],
): Promise<RestockResult> {
  if (expectedVersions?.length === 0) return staleOrMissing(db, sku)
  let update = db
    .updateTable('products')
    .set({ stock: sql`stock + ${units}`, version: sql`version + 1` })
    .where('sku', '=', sku)
    .where('stock', '<=', maxStock - units)
  if (expectedVersions) update = update.where('version', 'in', expectedVersions)
  const row = await update.returning(adminColumns).executeTakeFirst()
  if (row) return { kind: 'restocked', product: toAdminProduct(row) }
  const current = await findAdminProduct(db, sku)
  if (!current) return { kind: 'not-found' }
  if (expectedVersions && !expectedVersions.includes(current.version)) {
    return { kind: 'stale', product: current }
  }
  return { kind: 'too-much', stock: current.stock }
}

/** A change that If-Match's versions (none of ours: `[]`) cannot match: stale, or no product. */
async function staleOrMissing(
  db: Kysely<Database>,
  sku: string,
): Promise<{ kind: 'stale'; product: AdminProduct } | { kind: 'not-found' }> {
  const current = await findAdminProduct(db, sku)
  return current ? { kind: 'stale', product: current } : { kind: 'not-found' }
}

/** One product as the back office reads it, or undefined for an unknown SKU. */
async function findAdminProduct(
  db: Kysely<Database>,
  sku: string,
): Promise<AdminProduct | undefined> {
  const row = await db
    .selectFrom('products')
    .select(adminColumns)
    .where('sku', '=', sku)
    .executeTakeFirst()
  return row ? toAdminProduct(row) : undefined
}

/**
 * Sets a product's price and/or whether it is on sale; undefined for an unknown SKU. A new price
 * applies to orders placed from its commit on: each order line keeps the unit price it captured
 * (order_lines.unit_price_cents), and an order waiting on the product's row lock reads the
 * price as committed. Off sale, the order statements do not find the product (see
 * src/orders/place-order.ts). Adds one to the version; writes nothing else. With
 * `expectedVersions` (If-Match's), only while the product is at one of them, as for a restock:
 * otherwise `stale`, nothing changed.
 */
export async function updateProduct(
  db: Kysely<Database>,
  sku: string,
  patch: ProductPatch,
  expectedVersions?: readonly number[],
): Promise<ProductChange> {
  if (expectedVersions?.length === 0) return staleOrMissing(db, sku)
  let update = db
    .updateTable('products')
    .set({
      ...(patch.priceCents === undefined ? {} : { price_cents: patch.priceCents }),
      ...(patch.onSale === undefined ? {} : { on_sale: patch.onSale }),
      version: sql`version + 1`,
    })
    .where('sku', '=', sku)
  if (expectedVersions) update = update.where('version', 'in', expectedVersions)
  const row = await update.returning(adminColumns).executeTakeFirst()
  if (row) return { kind: 'changed', product: toAdminProduct(row) }
  // No row: unknown SKU, or (with expectedVersions) a version none of them names.
  return expectedVersions ? staleOrMissing(db, sku) : { kind: 'not-found' }
}

export type ProductChange =
  | { kind: 'changed'; product: AdminProduct }
  | { kind: 'not-found' }
  /** The product's version is none of those expected: changed since they were read. */
  | { kind: 'stale'; product: AdminProduct }
