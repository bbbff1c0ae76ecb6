import { type Kysely, sql } from 'kysely'

/**
 * `webhook_endpoints.disabled_reason` without a time in it. The dispatcher wrote "every delivery
 * failed since 2026-11-29T10:00:00Z, with no 2xx since; re-enable it once it answers", which
 * the back office's pages showed as a raw ISO instant; it now writes a plain reason
 * (src/webhooks/outcomes.ts, disabledReason) and the pages show `failing_since`, which a
 * disabled endpoint keeps, as they show every time. The reasons already written are rewritten
 * to the new text for the dispatcher's policy (3 days), where `failing_since` still holds the
 * time: one a late 2xx cleared keeps its old text, the only place its time is left. Down writes
 * the old text back from `failing_since`.
 */
const plain = 'every delivery failed for 3 days, with no 2xx; re-enable it once it answers'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`update webhook_endpoints set disabled_reason = ${plain}
    where disabled_reason like 'every delivery failed since %' and failing_since is not null`.execute(
    db,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`update webhook_endpoints set disabled_reason = 'every delivery failed since '
      || to_char(failing_since at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
      || ', with no 2xx since; re-enable it once it answers'
    where disabled_reason = ${plain} and failing_since is not null`.execute(db)
}
