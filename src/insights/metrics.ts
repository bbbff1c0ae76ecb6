import type { Kysely } from 'kysely'
import { Gauge, type Registry } from 'prom-client'
import type { Database } from '../db/schema.ts'
import { statsCounters } from '../plugins/scraped-metrics.ts'
import { within } from '../plugins/within.ts'
import { insightsLagSeconds, type SalesFoldStats } from './sales-fold.ts'

/**
 * The insights' metrics, in `registry` (app.metrics.registry), all read when scraped:
 * insights_freshness_seconds (NaN when the database does not answer within a second),
 * insights_fold_batch_limit and insights_fold_failures_total (this process's sales fold).
 */
export function registerInsightsMetrics(
  registry: Registry,
  db: Kysely<Database>,
  salesFoldStats: () => Readonly<SalesFoldStats>,
): void {
  const registers = [registry]
  new Gauge({
    name: 'insights_freshness_seconds',
    // The database's view, read alike by every worker: not summed (cluster-metrics.ts).
    aggregator: 'max',
    help: 'Age of the oldest sale not yet in the top three (NaN when the database does not answer)',
    registers,
    async collect() {
      try {
        this.set(await within(insightsLagSeconds(db), 1000, 'reading the insights lag'))
      } catch {
        this.set(Number.NaN)
      }
    },
  })

  // The sales fold's own view of itself: a limit below 5,000 means folds have been timing out.
  new Gauge({
    name: 'insights_fold_batch_limit',
    // Of several workers, the one whose folds time out.
    aggregator: 'min',
    help: 'Most queued sales the next fold takes (lowered after a fold times out)',
    registers,
    collect() {
      this.set(salesFoldStats().batchLimit)
    },
  })
  statsCounters(registers, salesFoldStats)(
    'insights_fold_failures_total',
    'Fold statements of this process that failed (each is retried)',
    (s) => s.failures,
  )
}
