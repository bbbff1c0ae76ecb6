import { type Kysely, sql } from 'kysely'

/**
 * Order e-mails of kind `cancellation` (from `order.cancelled`, src/webhooks/fan-out.ts): the
 * `kind` check of migration 0009 (`order_emails_kind_check`) is widened from
 * `('confirmation', 'shipping')` to those and `cancellation`.
 *
 * Cheap on a large `order_emails`: the wider check is added `NOT VALID`, so PostgreSQL does not
 * scan the table (a plain `ADD CONSTRAINT ... CHECK` reads every row, holding the ACCESS
 * EXCLUSIVE lock that the drop took until the migration commits, blocking the fan-out and the
 * mail senders). Both statements only change the catalogue; the lock is held for that instant.
 * NOT VALID still checks every row written from now on; it only skips proving it for the rows
 * already there, and those all passed the narrower check, which implies the wider one. A
 * `VALIDATE CONSTRAINT` in this migration would not help: migrations run in one transaction,
 * which still holds the drop's ACCESS EXCLUSIVE lock while it scans. Ops who want the
 * constraint marked validated (pg_constraint.convalidated) can run
 * `alter table order_emails validate constraint order_emails_kind_check` at any time later: it
 * scans under a SHARE UPDATE EXCLUSIVE lock, which lets the senders read and write meanwhile.
 *
 * `down` deletes the cancellation e-mails (sent or not) before narrowing the check again: a
 * release before this one takes every pending row and would send one as a shipping notice.
 * That delete reads the whole table (no index has `kind` first); a rollback is rare.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table order_emails drop constraint order_emails_kind_check`.execute(db)
  await sql`
    alter table order_emails add constraint order_emails_kind_check
      check (kind in ('confirmation', 'shipping', 'cancellation')) not valid
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from order_emails where kind = 'cancellation'`.execute(db)
  await sql`alter table order_emails drop constraint order_emails_kind_check`.execute(db)
  // Every row left passed the wider check and is not a cancellation: it passes this one.
  await sql`
    alter table order_emails add constraint order_emails_kind_check
      check (kind in ('confirmation', 'shipping')) not valid
  `.execute(db)
}
