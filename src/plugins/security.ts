import type { IncomingMessage, ServerResponse } from 'node:http'
import { getHeapStatistics } from 'node:v8'
import fastifyRateLimit, { type RateLimitOptions } from '@fastify/rate-limit'
import fastifyUnderPressure from '@fastify/under-pressure'
import fp from 'fastify-plugin'
import helmet from 'helmet'
import type { Config } from '../config.ts'
import { SnapshotStore } from './rate-limit-store.ts'

/**
 * The headers helmet sets, taken once from its middleware: with no nonces they depend on the
 * configuration alone, and one object handed to Fastify per request costs a fraction of helmet's
 * chain of middleware calling setHeader twelve times (a fifth of the CPU of a cached answer).
 */
function helmetHeaders(): Record<string, string> {
  const middleware = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        imgSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
      },
    },
    // same-origin, not helmet's no-referrer: under no-referrer a browser sends `Origin: null` on
    // every POST, its own site's included (Fetch, "serializing a request origin"), and where it
    // sends no Sec-Fetch-Site (plain http:// to another host than localhost, older browsers) the
    // order form's cross-site check (orders/form-origin.ts) then refused every order. Other
    // sites still get no Referer: a confirmation page's address (its order number) never leaves.
    referrerPolicy: { policy: 'same-origin' },
  })
  const headers: Record<string, string> = {}
  const response = {
    setHeader: (name: string, value: unknown) => {
      headers[name.toLowerCase()] = String(value)
    },
    removeHeader: () => {},
  }
  let failed: unknown
  middleware({} as IncomingMessage, response as unknown as ServerResponse, (err?: unknown) => {
    failed = err
  })
  if (failed) throw failed
  return headers
}

let headersOnce: Record<string, string> | undefined

/**
 * The security headers every answer carries (see helmetHeaders), built on first use: also for
 * the answers written before or outside Fastify's hooks (errors.ts).
 */
export function securityHeaders(): Record<string, string> {
  headersOnce ??= helmetHeaders()
  return headersOnce
}

/**
 * A 429's sentence: the real reason (`what`: "orders"), the limit a minute and the wait
 * Retry-After gives (`waitMs`, rounded up to whole seconds, at least 1): "Too many orders from
 * your address: at most 60 a minute. Please try again in 42 seconds."
 */
export function tooManyMessage(what: string, max: number, waitMs: number): string {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000))
  return `Too many ${what} from your address: at most ${max} a minute. Please try again in ${seconds} second${seconds === 1 ? '' : 's'}.`
}

/**
 * A rate limit's errorResponseBuilder: tooManyMessage for JSON and pages alike (a 429 with that
 * message).
 */
export function tooManyRequests(what: string): RateLimitOptions['errorResponseBuilder'] {
  return (_request, { statusCode, max, ttl }) =>
    Object.assign(new Error(tooManyMessage(what, max, ttl)), { statusCode })
}

/**
 * Security headers with a CSP that fits pages without inline scripts or styles; 503 with
 * Retry-After while the event loop lags or the heap is nearly full; the rate limit, for the
 * routes that declare one (`config: { rateLimit: { groupId } }`, as @fastify/rate-limit
 * documents; no route is limited otherwise): RATE_LIMIT_MAX requests per minute per client
 * address and group (0: no limit, for load tests). Routes of one groupId share a client's budget.
 */
export default fp(
  async (app, { config }: { config: Config }) => {
    const headers = securityHeaders()
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers)
      done()
    })

    const busy = Object.assign(
      new Error('The service is busy. Please try again in a few seconds.'),
      {
        code: 'FST_UNDER_PRESSURE',
        statusCode: 503,
      },
    )
    await app.register(fastifyUnderPressure, {
      // The embedded PGlite runs every query on the event loop: there, a lagging loop means a
      // long query, not an overloaded process, so only the heap check applies.
      maxEventLoopDelay: config.DATABASE_URL ? config.MAX_EVENT_LOOP_DELAY_MS : 0,
      maxHeapUsedBytes: config.MAX_HEAP_USED_MB
        ? config.MAX_HEAP_USED_MB * 1024 * 1024
        : Math.floor(getHeapStatistics().heap_size_limit * 0.9),
      // An interval with no event loop sample at all (one long synchronous stretch, e.g. while
      // starting) reads as an infinite delay; that is not saturation, so it does not refuse.
      pressureHandler: async (_request, reply, type, value) => {
        if (type === 'eventLoopDelay' && value === Number.POSITIVE_INFINITY) return
        reply.header('retry-after', '10')
        throw busy
      },
    })

    if (config.RATE_LIMIT_MAX === 0) return
    await app.register(fastifyRateLimit, {
      global: false,
      max: config.RATE_LIMIT_MAX,
      timeWindow: 60_000,
      // Not the default LocalStore: it refuses a whole concurrent burst (see rate-limit-store.ts).
      store: SnapshotStore,
      // A route's own rateLimit may name what it limits: tooManyRequests('orders').
      errorResponseBuilder: tooManyRequests('requests'),
    })
  },
  { name: 'security' },
)
