import { type Kysely, sql } from 'kysely'

/**
 * A cheaper outbox row for an event no consumer wants (issue 15: placing orders no slower than
 * before). Measured per placed order with callgrind on the group-commit statement (docs/
 * benchmarks.md, "Placing orders: the outbox row made cheap"): building order.placed's payload
 * was 138k of the 248k instructions issues 15 and 16 added, the outbox_order entry about 10k.
 *
 * - `payload` may be null, but only on a row written already fanned out: an event that no
 *   enabled endpoint wanted and that makes no e-mail when it was written (src/webhooks/fan-out.ts,
 *   eventWanted). Nothing ever reads such a row's payload (deliveries and e-mails are made only
 *   from rows the fan-out takes, fanned_out_at null), so the order statements skip building it.
 *   The check keeps every row a consumer can read complete.
 * - `outbox_order` (every row with an order) becomes `outbox_order_not_fanned_out`: the one
 *   question asked of an order's events is whether an earlier one still waits for the fan-out
 *   (the delivery and e-mail claims), so only rows not fanned out need an entry, and an event
 *   written already fanned out costs no index entry besides the primary key.
 *
 * The check is added NOT VALID, then validated (a scan under SHARE UPDATE EXCLUSIVE, which lets
 * orders be placed meanwhile). The index: `if not exists`, so ops can build it beforehand with
 * `create index concurrently if not exists <the same>` on a large outbox (here it holds a SHARE
 * lock on the outbox, which stops orders while it is built, like 0005's).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table outbox alter column payload drop not null`.execute(db)
  await sql`
    alter table outbox add constraint outbox_payload_unless_fanned_out
      check (payload is not null or fanned_out_at is not null) not valid
  `.execute(db)
  await sql`alter table outbox validate constraint outbox_payload_unless_fanned_out`.execute(db)
  await sql`
    create index if not exists outbox_order_not_fanned_out on outbox (order_id, id)
      where fanned_out_at is null and order_id is not null
  `.execute(db)
  await sql`drop index if exists outbox_order`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    create index if not exists outbox_order on outbox (order_id, id) where order_id is not null
  `.execute(db)
  await sql`drop index if exists outbox_order_not_fanned_out`.execute(db)
  await sql`alter table outbox drop constraint outbox_payload_unless_fanned_out`.execute(db)
  // Rows without a payload cannot go back under NOT NULL: an empty object stands for "not built".
  await sql`update outbox set payload = '{}'::jsonb where payload is null`.execute(db)
  await sql`alter table outbox alter column payload set not null`.execute(db)
}
