import { type Kysely, sql } from 'kysely'

/**
 * `outbox.public_id`: the event's id outside this database, a random UUID (version 4, 122
 * random bits), from which its deliveries' `webhook-id` is made (`evt_<public_id>`). That header
 * was `evt_<outbox.id>`, unique only within one database: every database's first event was
 * `evt_1`, so a receiver dropping the ids it had handled (as Standard Webhooks advises) dropped
 * real events when two databases fed it (staging and production, a DATA_DIR made afresh) or
 * after a restore to a point in time, which rewinds the identity sequence. A random id is made
 * afresh for every event whatever the database's past; a per-database id plus the sequence
 * would not survive that restore (the database's id is restored with it and the sequence
 * rewinds to give the same numbers to other events).
 *
 * `id` stays what orders an order's events (delivery order, the claim statements). No index on
 * `public_id`: nothing looks an event up by it, and an index entry per event would cost the
 * order path.
 *
 * The default fills every existing row too (each its own UUID): PostgreSQL rewrites the outbox
 * and its indexes to add a column with a volatile default, under an ACCESS EXCLUSIVE lock, so
 * orders that write an event wait while it is copied: 9.3 s for 500,000 events (400 MB) on the
 * development VM (PostgreSQL 15, load 15-20). Adding it without a default and filling it in
 * batches would not be shorter here: the migration runs in one transaction, which holds the lock
 * that `add column` takes until it commits, and an update writes every row anew as well.
 *
 * An event waiting for delivery when this runs is sent from then on under its new id, not the
 * `evt_<id>` of its earlier attempts: a receiver may take it once more.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table outbox add column public_id uuid not null default gen_random_uuid()`.execute(
    db,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table outbox drop column public_id`.execute(db)
}
