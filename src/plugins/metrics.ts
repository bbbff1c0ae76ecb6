import { createHash, timingSafeEqual } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client'
import type { Config } from '../config.ts'
import { poolOf } from '../db/connect.ts'
import { type BearerCredentials, bearerCredentials, bearerRefusal } from './bearer.ts'

/** What the platform offers the features: the registry their metrics go in (and /metrics shows). */
export interface Metrics {
  /** Pass it as `registers: [app.metrics.registry]` to a prom-client metric. */
  registry: Registry
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
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

/** One series of RequestDurations: its labels, its count per bucket (not cumulative), sum, count. */
interface Series {
  method: string
  route: string
  status: number
  labels: { method: string; route: string; status_code: number }
  buckets: number[]
  sum: number
  count: number
}

/**
 * A histogram of request durations by method, route template and status code, as /metrics
 * shows prom-client's Histogram (the same lines in the same order: series as first seen, each
 * one's buckets, +Inf, _sum and _count), registered in a prom-client Registry. Only cheaper to
 * feed: prom-client's observe builds and checks a label object, a hash string of the labels and
 * a property name from each bucket bound (a number) on every request; here a request finds its
 * series in a Map by route and a short list by method and status, and counts in an array.
 */
export class RequestDurations {
  readonly name: string
  readonly help: string
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly #bounds: readonly number[]
  readonly #byRoute = new Map<string, Series[]>()
  /** Every series, in the order first seen (prom-client's order in /metrics). */
  readonly #all: Series[] = []

  constructor({ name, help, buckets }: { name: string; help: string; buckets: number[] }) {
    this.name = name
    this.help = help
    this.#bounds = [...buckets].sort((a, b) => a - b)
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    let list = this.#byRoute.get(route)
    if (!list) {
      list = []
      this.#byRoute.set(route, list)
    }
    let series: Series | undefined
    for (const s of list) {
      if (s.status === status && s.method === method) {
        series = s
        break
      }
    }
    if (!series) {
      series = {
        method,
        route,
        status,
        labels: { method, route, status_code: status },
        buckets: this.#bounds.map(() => 0),
        sum: 0,
        count: 0,
      }
      list.push(series)
      this.#all.push(series)
    }
    const bounds = this.#bounds
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= (bounds[i] as number)) {
        ;(series.buckets[i] as number)++
        break
      }
    }
    series.sum += seconds
    series.count++
  }

  /** What the Registry reads to write the metric: as prom-client's Histogram gives it. */
  get() {
    const values: {
      labels: Record<string, string | number>
      sharedLabels: Series['labels']
      value: number
      metricName: string
    }[] = []
    for (const s of this.#all) {
      let cumulative = 0
      this.#bounds.forEach((le, i) => {
        cumulative += s.buckets[i] as number
        const metricName = `${this.name}_bucket`
        values.push({ labels: { le }, sharedLabels: s.labels, value: cumulative, metricName })
      })
      values.push(
        {
          labels: { le: '+Inf' },
          sharedLabels: s.labels,
          value: s.count,
          metricName: `${this.name}_bucket`,
        },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` },
      )
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    }
  }

  reset(): void {
    this.#byRoute.clear()
    this.#all.length = 0
  }
}

/** Under pressure, metrics and liveness still answer: they are how one sees the pressure. */
export const exemptFromPressure = { pressureHandler: () => undefined }

/**
 * GET /metrics in Prometheus text format: request durations by route template and status, the
 * database pool, the process metrics, and whatever the features register in
 * `app.metrics.registry` (orders/metrics.ts, insights/plugin.ts). The pool is read when scraped,
 * so requests pay only one histogram observation. With several workers each answers for itself
 * (see docs/operations.md, "Metrics").
 */
export default fp(
  async (app, { config }: { config: Config }) => {
    const register = new Registry()
    const registers = [register]

    const duration = new RequestDurations({
      name: 'http_request_duration_seconds',
      help: 'Time to answer a request, by method, route template and status code',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    })
    register.registerMetric(duration as unknown as Metric)
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
    app.decorate('metrics', { registry: register } satisfies Metrics)

    app.addHook('onResponse', (request, reply, done) => {
      duration.observe(
        request.method,
        // The template, never the URL: one series per route, not one per order number.
        request.routeOptions.url ?? '(none)',
        reply.statusCode,
        reply.elapsedTime / 1000,
      )
      done()
    })

    const token = config.METRICS_TOKEN
    const expected = token && { header: digest(`Bearer ${token}`), token: digest(token) }
    /**
     * Whether the header carries METRICS_TOKEN: exactly `Bearer <token>`, whatever characters the
     * token holds (the setting has no charset rule), or as RFC 6750 reads a header (the scheme in
     * any case, bearer.ts). Compared as SHA-256 digests in constant time.
     */
    const authorized = (header: string | undefined, credentials: BearerCredentials) =>
      !expected ||
      timingSafeEqual(digest(header ?? ''), expected.header) ||
      (credentials.kind === 'token' && timingSafeEqual(digest(credentials.token), expected.token))
    app.get(
      '/metrics',
      { schema: { hide: true }, config: exemptFromPressure },
      async (request, reply) => {
        const { authorization } = request.headers
        const credentials = bearerCredentials(authorization)
        if (!authorized(authorization, credentials)) {
          // Challenged as the staff API is (RFC 6750 §3.1): an error code only for a bad header
          // or token, none when no bearer token was sent.
          const { status, challenge } = bearerRefusal('metrics', credentials.kind)
          return reply
            .code(status)
            .header('www-authenticate', challenge)
            .send({
              statusCode: status,
              error: STATUS_CODES[status],
              message:
                credentials.kind === 'malformed'
                  ? 'The Authorization header must be "Bearer" and the token set in METRICS_TOKEN.'
                  : 'Metrics need the bearer token set in METRICS_TOKEN.',
            })
        }
        const text = (await processMetrics().metrics()) + (await register.metrics())
        return reply.type(register.contentType).send(text)
      },
    )
  },
  { name: 'metrics', dependencies: ['db'] },
)
