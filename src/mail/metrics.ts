import { type Kysely, sql } from 'kysely'
import type { Registry } from 'prom-client'
import type { Database } from '../db/schema.ts'
import { databaseGauges, statsCounters } from '../plugins/scraped-metrics.ts'
import type { MailSenderStats } from './sender.ts'

/**
 * The order e-mails' metrics in `registry` (app.metrics.registry), read when scraped:
 * - order_emails_pending, order_email_oldest_pending_seconds: the database's view (all
 *   instances; one statement over the `order_emails_due` partial index; NaN when it does not
 *   answer within 1 s);
 * - order_emails_sent_total, order_email_retries_total (failed attempts that will be tried
 *   again), order_emails_failed_total (given up): this process's sender.
 */
export function registerMailMetrics(
  registry: Registry,
  db: Kysely<Database>,
  stats: () => Readonly<MailSenderStats>,
): void {
  const registers = [registry]
  const gauge = databaseGauges(registers, 'reading the e-mail backlog', () =>
    sql<{ pending: number; oldest: number }>`
      select count(*)::int as pending,
             coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as oldest
      from order_emails where status = 'pending'`
      .execute(db)
      .then((r) => r.rows[0]),
  )
  gauge(
    'order_emails_pending',
    'Order e-mails queued and not yet sent or given up (all instances)',
    (b) => b.pending,
  )
  gauge(
    'order_email_oldest_pending_seconds',
    'Age of the oldest pending order e-mail (0 when none)',
    (b) => b.oldest,
  )
  const counter = statsCounters(registers, stats)
  counter('order_emails_sent_total', 'Order e-mails this process sent', (s) => s.sent)
  counter(
    'order_email_retries_total',
    'Failed send attempts of this process that will be tried again',
    (s) => s.retried,
  )
  counter('order_emails_failed_total', 'Order e-mails this process gave up', (s) => s.failed)
}
