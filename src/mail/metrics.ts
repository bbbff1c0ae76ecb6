import { type Kysely, sql } from 'kysely'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Database } from '../db/schema.ts'
import { within } from '../plugins/within.ts'
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
  let reading: Promise<{ pending: number; oldest: number } | undefined> | undefined
  const backlog = () => {
    reading ??= within(
      sql<{ pending: number; oldest: number }>`
        select count(*)::int as pending,
               coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as oldest
        from order_emails where status = 'pending'`
        .execute(db)
        .then((r) => r.rows[0]),
      1000,
      'reading the e-mail backlog',
    )
      .catch(() => undefined)
      .finally(() => setTimeout(() => (reading = undefined), 100))
    return reading
  }
  new Gauge({
    name: 'order_emails_pending',
    // The database's view, read alike by every worker: not summed (cluster-metrics.ts).
    aggregator: 'max',
    help: 'Order e-mails queued and not yet sent or given up (all instances)',
    registers,
    async collect() {
      this.set((await backlog())?.pending ?? Number.NaN)
    },
  })
  new Gauge({
    name: 'order_email_oldest_pending_seconds',
    // The database's view, read alike by every worker: not summed (cluster-metrics.ts).
    aggregator: 'max',
    help: 'Age of the oldest pending order e-mail (0 when none)',
    registers,
    async collect() {
      this.set((await backlog())?.oldest ?? Number.NaN)
    },
  })
  const counter = (name: string, help: string, pick: (s: MailSenderStats) => number) => {
    let seen = 0
    new Counter({
      name,
      help,
      registers,
      collect() {
        const now = pick(stats())
        this.inc(now - seen)
        seen = now
      },
    })
  }
  counter('order_emails_sent_total', 'Order e-mails this process sent', (s) => s.sent)
  counter(
    'order_email_retries_total',
    'Failed send attempts of this process that will be tried again',
    (s) => s.retried,
  )
  counter('order_emails_failed_total', 'Order e-mails this process gave up', (s) => s.failed)
}
