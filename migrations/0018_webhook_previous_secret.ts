import { type Kysely, sql } from 'kysely'

/**
 * A rotated signing secret keeps signing for an overlap window (Standard Webhooks, "Signature
 * scheme": the `webhook-signature` header lists several signatures "to support zero downtime
 * secret rotation"): `previous_secret` is the secret a rotation replaced, `previous_secret_until`
 * when it stops being used (the rotation's time + WEBHOOKS_SECRET_OVERLAP_HOURS). While
 * `previous_secret_until` is in the future each delivery carries a signature with it after the
 * new one's; once it has passed the column is ignored (the claim statement reads it with the
 * endpoint, src/webhooks/leases.ts). Both null when there is none; never one without the other.
 *
 * Adding nullable columns without a default changes only the catalogue: no rewrite of the
 * table (a handful of rows anyway), no wait for orders.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table webhook_endpoints
              add column previous_secret text,
              add column previous_secret_until timestamptz,
              add constraint webhook_endpoints_previous_secret_whole
                check ((previous_secret is null) = (previous_secret_until is null))`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table webhook_endpoints
              drop constraint webhook_endpoints_previous_secret_whole,
              drop column previous_secret_until,
              drop column previous_secret`.execute(db)
}
