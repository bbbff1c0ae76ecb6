import { type Kysely, sql } from 'kysely'

/**
 * `products` with fillfactor 10: each of its pages is filled to a tenth by new rows, so a
 * product's row has room on its own page for the new versions every order's stock update makes
 * (a HOT update: no new primary-key and `sku` entries, and the versions pruned in the page).
 * With every product on one full page, an update that found no room there went to another page
 * and wrote both indexes. Measured per placed order with callgrind on the group-commit statement:
 * 8k instructions of ~316k (docs/benchmarks.md, "Stop 18"). The catalogue is small (a few dozen
 * rows), so ten times the pages is still a handful.
 *
 * The setting applies to rows written from now on; CLUSTER rewrites the table at once (an ACCESS
 * EXCLUSIVE lock on `products` for as long as it takes to copy the catalogue: orders wait that
 * long).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table products set (fillfactor = 10)`.execute(db)
  await sql`cluster products using products_pkey`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table products reset (fillfactor)`.execute(db)
  await sql`cluster products using products_pkey`.execute(db)
}
