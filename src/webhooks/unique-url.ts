import { type Kysely, sql } from 'kysely'
import type { Database } from '../db/schema.ts'
import { resumeDeliveries } from './deliveries.ts'
import { insertEndpoint, updateEndpoint } from './queries.ts'
import type { Endpoint, EndpointWithSecret } from './schemas.ts'
import { normaliseWebhookUrl } from './url-policy.ts'

/**
 * One endpoint per URL: registering a URL an endpoint already has, or changing an endpoint's URL
 * to another's, is refused naming that endpoint. Two endpoints on one URL would get every event
 * twice, and a register form sent twice (a double click) would make a second endpoint whose
 * first secret was never shown (a newcomer's review). The check and the write run under one
 * transaction-scoped advisory lock, so two submits at the same moment cannot both find the URL
 * free. URLs compare as registrableUrl writes them (normaliseWebhookUrl, url-policy.ts), a
 * stored one too: no migration rewrites the rows stored before a rule was added.
 */

/** The lock's key (pg_advisory_xact_lock): registrations and URL changes queue on it. */
export const WEBHOOK_URL_LOCK = 0x0e_b400_c5n

/** The endpoint holding `url` (other than `exceptId`), refused with its id. */
export interface UrlTaken {
  kind: 'taken'
  id: number
}

/** The sentence a refused URL is told: which endpoint has it, and what to do instead. */
export const urlTaken = (url: string, id: number) =>
  `${url} is already the URL of endpoint ${id}: change or delete that one rather than register it twice.`

/** A stored URL as registrableUrl would write it now (url-policy.ts), or as it is. */
const spelling = (stored: string) =>
  URL.canParse(stored) ? normaliseWebhookUrl(new URL(stored)).href : stored

async function holderOf(
  db: Kysely<Database>,
  url: string,
  exceptId?: number,
): Promise<UrlTaken | undefined> {
  await sql`select pg_advisory_xact_lock(${WEBHOOK_URL_LOCK})`.execute(db)
  // Every endpoint's URL (a handful), compared in its normalised spelling: a row stored before
  // a rule of normaliseWebhookUrl existed (`…/%61`) still holds its URL (`…/a`).
  const rows = await db
    .selectFrom('webhook_endpoints')
    .select(['id', 'url'])
    .orderBy('id')
    .execute()
  const row = rows.find((r) => r.id !== exceptId && spelling(r.url) === url)
  return row && { kind: 'taken', id: row.id }
}

/** Registers an endpoint (insertEndpoint) unless its URL is another's: `taken` then. */
export async function registerEndpoint(
  db: Kysely<Database>,
  input: Parameters<typeof insertEndpoint>[1],
): Promise<{ kind: 'registered'; endpoint: EndpointWithSecret } | UrlTaken> {
  return db.transaction().execute(async (tx) => {
    const taken = await holderOf(tx, input.url)
    if (taken) return taken
    return { kind: 'registered', endpoint: await insertEndpoint(tx, input) }
  })
}

/**
 * Changes an endpoint (updateEndpoint) unless the new URL is another endpoint's: `taken` then,
 * nothing changed; `not-found` for no such endpoint. Enabling it also makes its waiting
 * deliveries due now (deliveries.ts's resumeDeliveries), in the same transaction: the receiver
 * was fixed, so no backoff of up to 1 h (or longer Retry-After) is waited out. Without a URL, no lock is taken.
 */
export async function changeEndpoint(
  db: Kysely<Database>,
  id: number,
  patch: Parameters<typeof updateEndpoint>[2],
): Promise<{ kind: 'changed'; endpoint: Endpoint } | { kind: 'not-found' } | UrlTaken> {
  const { url, enabled } = patch
  const change = async (on: Kysely<Database>) => {
    const endpoint = await updateEndpoint(on, id, patch)
    if (!endpoint) return { kind: 'not-found' } as const
    if (enabled === true) await resumeDeliveries(on, id)
    return { kind: 'changed', endpoint } as const
  }
  if (url === undefined && enabled !== true) return change(db)
  return db.transaction().execute(async (tx) => {
    const taken = url === undefined ? undefined : await holderOf(tx, url, id)
    return taken ?? change(tx)
  })
}
