import { type Kysely, sql } from 'kysely'
import type { Registry } from 'prom-client'
import type { Database } from '../db/schema.ts'
import { databaseGauges, statsCounters } from '../plugins/scraped-metrics.ts'
import type { DispatcherStats } from './dispatcher.ts'

/** The queue's state, for everyone (all instances' work): one cheap statement over partial indexes. */
export interface WebhookBacklog {
  /** Pending deliveries of enabled endpoints (due, waiting for a retry, or in flight). */
  pending: number
  /** Seconds since the oldest of them was made; 0 when none. */
  oldestPendingSeconds: number
  /** Outbox events not yet fanned out into deliveries. */
  notFannedOut: number
}

/**
 * Reads the backlog. Deliveries of a disabled endpoint are left out: they wait for an admin, and
 * would otherwise hold the oldest-pending age up for days. Costs one pass over the pending rows
 * (the `webhook_deliveries_due` partial index) and the unfanned outbox rows (its partial index),
 * both small while the dispatchers keep up.
 */
export async function webhookBacklog(db: Kysely<Database>): Promise<WebhookBacklog> {
  const { rows } = await sql<{ pending: number; oldest: number; not_fanned_out: number }>`
    select count(*)::int as pending,
           coalesce(extract(epoch from now() - min(d.created_at)), 0)::float8 as oldest,
           (select count(*)::int from outbox where fanned_out_at is null) as not_fanned_out
    from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id and e.enabled
    where d.status = 'pending'
  `.execute(db)
  const r = rows[0]
  return {
    pending: r?.pending ?? 0,
    oldestPendingSeconds: r?.oldest ?? 0,
    notFannedOut: r?.not_fanned_out ?? 0,
  }
}

/**
 * The webhooks' metrics in `registry` (app.metrics.registry), read when scraped:
 * - webhook_deliveries_pending, webhook_oldest_pending_seconds, webhook_outbox_not_fanned_out:
 *   the database's view, the same from every instance (NaN when it does not answer within 1 s);
 * - webhook_deliveries_delivered_total, webhook_delivery_retries_total (failed attempts that
 *   will be tried again), webhook_deliveries_failed_total (given up): this process's dispatcher.
 */
export function registerWebhookMetrics(
  registry: Registry,
  db: Kysely<Database>,
  stats: () => Readonly<DispatcherStats>,
): void {
  const registers = [registry]
  // One read per scrape serves the three gauges.
  const gauge = databaseGauges(registers, 'reading the webhook backlog', () => webhookBacklog(db))
  gauge(
    'webhook_deliveries_pending',
    'Deliveries of enabled endpoints not yet delivered or given up (all instances)',
    (b) => b.pending,
  )
  gauge(
    'webhook_oldest_pending_seconds',
    'Age of the oldest pending delivery of an enabled endpoint (0 when none)',
    (b) => b.oldestPendingSeconds,
  )
  gauge(
    'webhook_outbox_not_fanned_out',
    'Outbox events not yet turned into deliveries',
    (b) => b.notFannedOut,
  )

  const counter = statsCounters(registers, stats)
  counter(
    'webhook_deliveries_delivered_total',
    'Deliveries this process sent that got a 2xx',
    (s) => s.delivered,
  )
  counter(
    'webhook_delivery_retries_total',
    'Failed attempts of this process that will be tried again',
    (s) => s.retried,
  )
  counter(
    'webhook_deliveries_failed_total',
    'Deliveries this process gave up after the retry window',
    (s) => s.failed,
  )
}
