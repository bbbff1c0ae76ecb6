import cluster from 'node:cluster'
import { createHash, timingSafeEqual } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Config } from '../config.ts'
import { poolOf } from '../db/connect.ts'
import type { Database } from '../db/schema.ts'
import {
  authorizationTwice,
  type BearerCredentials,
  bearerCredentials,
  bearerRefusal,
} from './bearer.ts'
import { clusterMetrics, offerToCluster } from './cluster-metrics.ts'

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

/**
 * The labels every series carries: `service_instance_id` (OpenTelemetry's name) from
 * WEBSITE_INSTANCE_ID, which App Service sets to the instance's id, so that scrapes of several
 * instances make distinct series; none where it is unset (locally, in a container).
 */
export function instanceLabels(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const id = env.WEBSITE_INSTANCE_ID
  return id ? { service_instance_id: id } : {}
}

// Process metrics (event loop lag, heap, GC, CPU) belong to the process, not to an app: one
// registry however many apps a test process builds.
let processRegistry: Registry | undefined
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry()
    processRegistry.setDefaultLabels(instanceLabels())
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

/**
 * db_pool_connections in `register`: the connections of `db()`'s pool (none for PGlite, or
 * before it is opened) in use, idle, and the requests waiting for one, read when scraped.
 */
export function poolGauge(register: Registry, db: () => Kysely<Database> | undefined): void {
  new Gauge({
    name: 'db_pool_connections',
    help: 'Database pool connections: in_use, idle, and requests waiting for one',
    labelNames: ['state'] as const,
    registers: [register],
    collect() {
      const handle = db()
      const pool = handle && poolOf(handle)
      if (!pool) return
      this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount)
      this.set({ state: 'idle' }, pool.idleCount)
      this.set({ state: 'waiting' }, pool.waitingCount)
    },
  })
}

const digest = (s: string) => createHash('sha256').update(s).digest()

/** What a refusal of /metrics says, by what the request's Authorization offered (bearer.ts). */
const refusals: Record<BearerCredentials['kind'], string> = {
  none: 'Metrics need the bearer token set in METRICS_TOKEN.',
  malformed: 'The Authorization header must be "Bearer" and the token set in METRICS_TOKEN.',
  repeated: authorizationTwice,
  token: 'Metrics need the bearer token set in METRICS_TOKEN.',
}

/** Under pressure, metrics and liveness still answer: they are how one sees the pressure. */
export const exemptFromPressure = { pressureHandler: () => undefined }

/**
 * GET /metrics in Prometheus text format: request durations by route template and status, the
 * database pool, the process metrics, and whatever the features register in
 * `app.metrics.registry` (orders/metrics.ts, insights/plugin.ts). The pool is read when scraped,
 * so requests pay only one histogram observation. With several workers (node:cluster) the
 * worker scraped answers for all of them, merged by the primary (cluster-metrics.ts), and 503
 * when the primary does not answer. See docs/operations.md, "Metrics".
 */
export default fp(
  async (app, { config }: { config: Config }) => {
    const register = new Registry()
    register.setDefaultLabels(instanceLabels())
    const registers = [register]

    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer a request, by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    })
    poolGauge(register, () => app.db)
    app.decorate('metrics', { registry: register } satisfies Metrics)
    // Made now, not at the first scrape: the CPU counter and GC and event loop series start at
    // the start, not at the first scrape.
    const processRegistry = processMetrics()
    if (cluster.isWorker) offerToCluster([processRegistry, register])

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

    const token = config.METRICS_TOKEN
    const expected = token ? { header: digest(`Bearer ${token}`), token: digest(token) } : undefined
    /**
     * Why the request may not read the metrics (its credentials' kind, bearer.ts), or undefined
     * when it may: without METRICS_TOKEN always (nothing of the request is read), else when it
     * carries the token: exactly `Bearer <token>`, whatever characters the token holds (the
     * setting has no charset rule), or as RFC 6750 reads a header (the scheme in any case).
     * Compared as SHA-256 digests in constant time. Never with Authorization in two lines: Node
     * keeps the first, which would be the one compared.
     */
    function refusal(request: FastifyRequest): BearerCredentials['kind'] | undefined {
      if (!expected) return undefined
      const credentials = bearerCredentials(request)
      if (credentials.kind === 'repeated') return credentials.kind
      const sent =
        timingSafeEqual(digest(request.headers.authorization ?? ''), expected.header) ||
        (credentials.kind === 'token' && timingSafeEqual(digest(credentials.token), expected.token))
      return sent ? undefined : credentials.kind
    }
    app.get(
      '/metrics',
      { schema: { hide: true }, config: exemptFromPressure },
      async (request, reply) => {
        const refused = refusal(request)
        if (refused) {
          // Challenged as the staff API is (RFC 6750 §3.1): an error code only for a bad header
          // or token, none when no bearer token was sent.
          const { status, challenge } = bearerRefusal('metrics', refused)
          return reply
            .code(status)
            .header('www-authenticate', challenge)
            .send({ statusCode: status, error: STATUS_CODES[status], message: refusals[refused] })
        }
        if (!cluster.isWorker) {
          const text = (await processRegistry.metrics()) + (await register.metrics())
          return reply.type(register.contentType).send(text)
        }
        try {
          // Awaited before the type is set: the 503 below is JSON, not Prometheus text.
          const text = await clusterMetrics()
          return reply.type(register.contentType).send(text)
        } catch (err) {
          request.log.warn({ err }, "could not gather the workers' metrics")
          return reply.code(503).send({
            statusCode: 503,
            error: STATUS_CODES[503],
            message: "The workers' metrics could not be gathered; try again.",
          })
        }
      },
    )
  },
  { name: 'metrics', dependencies: ['db'] },
)
