import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/schema.ts'
import { shown, toEndpoint, withSecret } from './queries.ts'
import type { Endpoint, EndpointWithSecret } from './schemas.ts'

/**
 * Rotating an endpoint's signing secret without breaking its receiver (Standard Webhooks,
 * "Signature scheme": the `webhook-signature` header is a space-delimited list "to support zero
 * downtime secret rotation"; the webhook "is signed both using the current key, and using an
 * old key (for a set period of time)"). A rotation keeps the replaced secret for an overlap
 * window, during which each delivery carries two signatures, the new secret's first
 * (deliver.ts's signatureHeaders; the claim statement loads the previous secret with the
 * endpoint, leases.ts, so no delivery costs a query more). Ending the overlap drops it at once,
 * for a secret that leaked.
 */

type Db = Kysely<Database>

/**
 * Replaces the signing secret with `secret`. With `overlapHours` > 0 the replaced secret keeps
 * signing (after the new one) until now + `overlapHours`; a second rotation within that window
 * replaces the previous secret too (the one the first rotation replaced is dropped: only the
 * latest two are ever used). With 0, deliveries from now on are signed with the new secret only.
 * Answers the endpoint with its new secret (shown once), or undefined when there is no such
 * endpoint. Deliveries already taken by a dispatcher (at most a lease, 30 s) are signed as they
 * were taken.
 */
export async function rotateSecret(
  db: Db,
  id: number,
  secret: string,
  overlapHours: number,
): Promise<EndpointWithSecret | undefined> {
  // WEBHOOKS_SECRET_OVERLAP_HOURS: a whole number of hours, 0 to 168 (src/config-schema.ts).
  if (!Number.isSafeInteger(overlapHours) || overlapHours < 0)
    throw new RangeError(`overlap of ${overlapHours} hours`)
  const overlap = overlapHours > 0
  const row = await db
    .updateTable('webhook_endpoints')
    .set({
      // The right-hand `secret` is the row's value before this update: the one being replaced.
      previous_secret: overlap ? sql.ref<string>('secret') : null,
      previous_secret_until: overlap
        ? sql<Date>`now() + make_interval(hours => ${overlapHours})`
        : null,
      secret,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
  return row && withSecret(row)
}

/**
 * Ends the overlap at once: the previous secret is forgotten and deliveries taken from now on are
 * signed with the current secret only (ones a dispatcher already took, at most a lease of 30 s,
 * still carry both). Answers the endpoint (`previousSecretUntil` null), or undefined when there
 * is no such endpoint. Idempotent: with no previous secret it changes nothing, `updated_at`
 * included.
 */
export async function endSecretOverlap(db: Db, id: number): Promise<Endpoint | undefined> {
  const row = await db
    .updateTable('webhook_endpoints')
    .set({
      previous_secret: null,
      previous_secret_until: null,
      updated_at: sql<Date>`case when previous_secret is null then updated_at else now() end`,
    })
    .where('id', '=', id)
    .returning(shown)
    .executeTakeFirst()
  return row && toEndpoint(row)
}
