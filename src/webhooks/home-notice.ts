/**
 * What the back office's home page (`/admin`, views/admin-home.eta) tells admins about webhook
 * endpoints: each one the dispatcher disabled for failing too long, and each one failing now,
 * with a link to its page. The dispatcher only logs a disabling (a `warn` line) and the webhook
 * pages show it; an admin who never opens them would not know deliveries had stopped. Shown to
 * admins only: staff cannot open the webhook pages.
 */
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { defaultRetryPolicy } from './outcomes.ts'
import { type EndpointToWatch, endpointsToWatch } from './queries.ts'

export interface WebhookHomeNotice {
  /** Disabled by the dispatcher (disabledReason set), then failing ones (failingSince set). */
  endpoints: EndpointToWatch[]
  /** After how many days of failing the dispatcher disables an endpoint (its policy: 3). */
  disableAfterDays: number
}

/** The notice for the home page, or undefined when no endpoint needs an admin's look. */
export async function webhookHomeNotice(
  db: Kysely<Database>,
): Promise<WebhookHomeNotice | undefined> {
  const endpoints = await endpointsToWatch(db)
  if (endpoints.length === 0) return undefined
  // Disabled ones first: their deliveries have stopped, the failing ones' still go on.
  endpoints.sort((a, b) => Number(a.disabledReason === null) - Number(b.disabledReason === null))
  return {
    endpoints,
    disableAfterDays: Math.round(defaultRetryPolicy.disableAfterMs / 86_400_000),
  }
}
