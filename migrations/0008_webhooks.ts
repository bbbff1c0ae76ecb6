import { type Kysely, sql } from 'kysely'

/**
 * Webhooks (issue 16): endpoints that admins register, and one delivery per event and endpoint.
 *
 * - `webhook_endpoints.secret` is the Standard Webhooks signing secret (`whsec_` + base64 of
 *   24..64 random bytes). It must be kept in clear to sign (HMAC-SHA256), like any webhook
 *   sender keeps it; it is shown once when created and never logged.
 * - `failing_since`: when the endpoint's current run of failed attempts began (null after any
 *   2xx); an endpoint failing for days is disabled with `disabled_reason`.
 * - `webhook_deliveries` is both the queue and the record: `pending` rows are taken by the
 *   dispatchers (`FOR UPDATE SKIP LOCKED`) once `next_attempt_at` has come, `delivered` or
 *   `failed` rows are the history the endpoint's page shows. One row per (endpoint, event):
 *   a redelivery sets the row back to pending. `order_id` is copied from the event so an
 *   order's deliveries to one endpoint go out in event order.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('event_types', sql`text[]`, (c) =>
      c.notNull().check(sql`cardinality(event_types) > 0`),
    )
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('disabled_reason', 'text')
    .addColumn('failing_since', 'timestamptz')
    .addColumn('created_by', 'integer', (c) => c.references('staff.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('endpoint_id', 'integer', (c) =>
      c.notNull().references('webhook_endpoints.id').onDelete('cascade'),
    )
    .addColumn('event_id', 'bigint', (c) => c.notNull())
    .addColumn('order_id', 'bigint')
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('pending').check(sql`status in ('pending', 'delivered', 'failed')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_attempt_at', 'timestamptz')
    .addColumn('last_response_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('webhook_deliveries_endpoint_event', ['endpoint_id', 'event_id'])
    .execute()
  // What the dispatchers poll: due pending rows, oldest first.
  await sql`
    create index webhook_deliveries_due on webhook_deliveries (next_attempt_at)
      where status = 'pending'
  `.execute(db)
  // "Is an earlier event of this order still pending for this endpoint?"
  await sql`
    create index webhook_deliveries_order_pending on webhook_deliveries (endpoint_id, order_id, event_id)
      where status = 'pending' and order_id is not null
  `.execute(db)
  // The endpoint page's recent deliveries, newest first.
  await sql`
    create index webhook_deliveries_recent on webhook_deliveries (endpoint_id, id desc)
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webhook_deliveries').execute()
  await db.schema.dropTable('webhook_endpoints').execute()
}
