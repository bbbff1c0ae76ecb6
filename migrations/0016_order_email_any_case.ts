import { type Kysely, sql } from 'kysely'

/**
 * The back office finds an order by its e-mail in any case, before the @ too (`Mixed.Case@…`
 * typed `mixed.case@…`): the list filters on `lower(email)` (src/admin/queries.ts), so its index
 * holds that, in the list's order, in place of 0005's orders_email_created on the e-mail as
 * stored. One e-mail index still, so placing an order writes no more than before; the filter
 * stays an index range scan that stops after 51 rows (test/admin/orders-plans.test.ts).
 *
 * As for 0005: on a large table, building the index here blocks new orders for as long as it
 * takes (CREATE INDEX holds a SHARE lock, and migrations run in a transaction, where
 * CONCURRENTLY is not allowed). Ops can build it beforehand with
 * `create index concurrently if not exists <the same>`, which makes the create a no-op; the drop
 * of the old index is quick either way.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index if not exists orders_email_lower_created
            on orders (lower(email), created_at desc, id desc)`.execute(db)
  await sql`drop index if exists orders_email_created`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`create index if not exists orders_email_created
            on orders (email, created_at desc, id desc)`.execute(db)
  await sql`drop index if exists orders_email_lower_created`.execute(db)
}
