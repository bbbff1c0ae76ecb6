import { createHash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Config } from '../config.ts'
import { poolOf } from '../db/connect.ts'
import { insightsLagSeconds } from '../insights/folder.ts'
import type { PlaceOrderResult } from '../orders/place-order.ts'
import { within } from './within.ts'

export type RejectionReason = 'validation' | 'out_of_stock' | 'duplicate'

export interface OrderMetrics {
  /** duplicate: a resubmission (same idempotency key) that created no new order. */
  orderRejected(reason: RejectionReason): void
  /** Counts what placeOrder answered: placed, or rejected for one of the reasons. */
  orderOutcome(kind: PlaceOrderResult['kind']): void
  /** How many orders (place) or lookups (find) shared one statement. */
  batch(kind: 'place' | 'find', size: number): void
}

const reasons: Record<Exclude<PlaceOrderResult['kind'], 'placed'>, RejectionReason> = {
  replayed: 'duplicate',
  'key-reused': 'duplicate',
  'out-of-stock': 'out_of_stock',
  'unknown-product': 'validation',
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: OrderMetrics
  }
}

// Process metrics (event loop lag, heap, GC, CPU) belong to the process, not to an app: one
// registry however many apps a test process builds.
let processRegistry: Registry | undefined
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Under pressure, metrics and liveness still answer: they are how one sees the pressure. */
export const exemptFromPressure = { pressureHandler: () => undefined }

/**
 * GET /metrics in Prometheus text format: request durations by route template and status,
 * orders placed and rejected, the database pool, the insights' lag and the process metrics.
 * The pool and the lag are read when scraped, so requests pay only one histogram observation.
 * With several workers each answers for itself (see README "Operations").
 */
export default fp(
  async (app, { config }: { config: Config }) => {
    const register = new Registry()
    const registers = [register]

    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer a request, by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    })
    const placed = new Counter({
      name: 'orders_placed_total',
      help: 'Orders placed (replays of an idempotency key excluded)',
      registers,
    })
    const rejected = new Counter({
      name: 'orders_rejected_total',
      help: 'Orders refused, by reason: validation, out_of_stock, duplicate',
      labelNames: ['reason'] as const,
      registers,
    })
    for (const reason of ['validation', 'out_of_stock', 'duplicate'] as const) {
      rejected.inc({ reason }, 0)
    }

    const batches = new Histogram({
      name: 'orders_batch_size',
      help: 'Orders placed (kind="place") or looked up (kind="find") in one statement',
      labelNames: ['kind'] as const,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    })

    new Gauge({
      name: 'db_pool_connections',
      help: 'Database pool connections: in_use, idle, and requests waiting for one',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const pool = poolOf(app.db)
        if (!pool) return
        this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount)
        this.set({ state: 'idle' }, pool.idleCount)
        this.set({ state: 'waiting' }, pool.waitingCount)
      },
    })
    new Gauge({
      name: 'insights_freshness_seconds',
      help: 'Age of the oldest sale not yet in the top three (NaN when the database does not answer)',
      registers,
      async collect() {
        try {
          this.set(await within(insightsLagSeconds(app.db), 1000, 'reading the insights lag'))
        } catch {
          this.set(Number.NaN)
        }
      },
    })

    // The folder's own view of itself: a limit below 5,000 means folds have been timing out.
    new Gauge({
      name: 'insights_fold_batch_limit',
      help: 'Most queued sales the next fold takes (lowered after a fold times out)',
      registers,
      collect() {
        this.set(app.folderStats.batchLimit)
      },
    })
    let failuresSeen = 0
    new Counter({
      name: 'insights_fold_failures_total',
      help: 'Fold statements of this process that failed (each is retried)',
      registers,
      collect() {
        this.inc(app.folderStats.failures - failuresSeen)
        failuresSeen = app.folderStats.failures
      },
    })

    app.decorate('metrics', {
      orderRejected: (reason: RejectionReason) => rejected.inc({ reason }),
      orderOutcome: (kind: PlaceOrderResult['kind']) =>
        kind === 'placed' ? placed.inc() : rejected.inc({ reason: reasons[kind] }),
      batch: (kind, size) => batches.observe({ kind }, size),
    } satisfies OrderMetrics)

    app.addHook('onResponse', (request, reply, done) => {
      duration.observe(
        {
          method: request.method,
          // The template, never the URL: one series per route, not one per order number.
          route: request.routeOptions.url ?? '(none)',
          status_code: reply.statusCode,
        },
        reply.elapsedTime / 1000,
      )
      done()
    })

    const token = config.METRICS_TOKEN ? digest(`Bearer ${config.METRICS_TOKEN}`) : undefined
    app.get(
      '/metrics',
      { schema: { hide: true }, config: exemptFromPressure },
      async (request, reply) => {
        if (token && !timingSafeEqual(digest(request.headers.authorization ?? ''), token)) {
          return reply.code(401).header('www-authenticate', 'Bearer').send({
            statusCode: 401,
            error: 'Unauthorized',
            message: 'Metrics need the bearer token set in METRICS_TOKEN.',
          })
        }
        const text = (await processMetrics().metrics()) + (await register.metrics())
        return reply.type(register.contentType).send(text)
      },
    )
  },
  { name: 'metrics', dependencies: ['db'] },
)
