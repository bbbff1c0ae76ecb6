import { STATUS_CODES } from 'node:http'
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { ProblemSchema } from './problems.ts'

/**
 * What features add to the document beyond their routes (app.ts passes them): component
 * schemas by name, and OpenAPI 3.1 `webhooks` (requests the service sends, not receives).
 */
export interface OpenapiExtras {
  schemas?: Record<string, unknown>
  webhooks?: Record<string, unknown>
}

type Json = Record<string, unknown>
const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']

/**
 * Keywords the validator reads that are no JSON Schema: Ajv's errorMessage (validation.ts),
 * and TypeBox's own (`~kind` and the like, should any be enumerable). Linters refuse them.
 */
const privateKeyword = (key: string) => key === 'errorMessage' || key.startsWith('~')

function withoutPrivateKeywords(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPrivateKeywords)
  if (value === null || typeof value !== 'object') return value
  const out: Json = {}
  for (const [k, v] of Object.entries(value)) {
    if (!privateKeyword(k)) out[k] = withoutPrivateKeywords(v)
  }
  return out
}

/** `post /api/admin/orders/{orderNumber}/transitions` -> `postAdminOrdersByOrderNumberTransitions`. */
export function operationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter((s) => s && s !== 'api')
    .map((s) => (s.startsWith('{') ? `by-${s.slice(1, -1)}` : s))
    .join('-')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
  return method + words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('')
}

const retryAfter = {
  'Retry-After': {
    description: 'Seconds to wait before trying again',
    schema: { type: 'integer', minimum: 1 },
  },
}

/**
 * The headers @fastify/rate-limit sends on a rate-limited operation's answers (security.ts, the
 * groups in src/orders/rate-limit.ts), defined once in components/headers: every response of
 * the operation refers to them (finishDocument), as the limit counts a request before its body
 * is read and every answer after that carries them. Its Retry-After is the 429's own.
 */
const rateLimitOff = 'Absent when RATE_LIMIT_MAX=0 switches the limit off.'
const rateLimitComponents = {
  'X-RateLimit-Limit': {
    description: `The most requests one client address may make in a window of 60 seconds (RATE_LIMIT_MAX, 60 by default), counted per address (an IPv6 client by its /64; behind a proxy the address TRUST_PROXY makes out) and per group: placing an order by POST /api/orders and by the order form's POST /orders share one budget. Fixed windows, the first opening at the address's first counted request; each process counts its own, in memory. Sent on every answer to a counted request (POST /api/orders counts one before reading its body), refusals and faults included, a 503 for a database outage too; not on those answered before the count: a 400 for a missing or repeated Host header, a 503 while the service is overloaded or shutting down. ${rateLimitOff}`,
    schema: { type: 'integer', minimum: 1 },
  },
  'X-RateLimit-Remaining': {
    description: `How many more requests this client address may make in the current window, after this one (0 on the request that used the last, and on a 429). ${rateLimitOff}`,
    schema: { type: 'integer', minimum: 0 },
  },
  'X-RateLimit-Reset': {
    description: `Seconds (rounded up) until the current window ends and the address's count starts again from X-RateLimit-Limit. ${rateLimitOff}`,
    schema: { type: 'integer', minimum: 1 },
  },
  'Retry-After-RateLimit': {
    description: `Seconds to wait before trying again: until the client address's window ends, the same as X-RateLimit-Reset. ${rateLimitOff}`,
    schema: { type: 'integer', minimum: 1 },
  },
}
const headerRef = (name: keyof typeof rateLimitComponents) => ({
  $ref: `#/components/headers/${name}`,
})
const rateLimitCounted = {
  'X-RateLimit-Limit': headerRef('X-RateLimit-Limit'),
  'X-RateLimit-Remaining': headerRef('X-RateLimit-Remaining'),
  'X-RateLimit-Reset': headerRef('X-RateLimit-Reset'),
}
const rateLimitRefused = { ...rateLimitCounted, 'Retry-After': headerRef('Retry-After-RateLimit') }

const problemContent = {
  'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
}

// Methods whose body Fastify reads, so refuses (413, 415), whether or not the operation takes
// one: a body-less POST or DELETE (rotate-secret, redeliver, tokens) reads a body to refuse it.
const bodyMethods = new Set(['post', 'put', 'patch', 'delete'])

/** The errors any route can answer whatever it declares (errors.ts, security.ts, body-rules.ts). */
function frameworkResponses(
  op: Json,
  method: string,
  path: string,
  rateLimited: boolean,
): Record<string, string> {
  const extra: Record<string, string> = {
    400: 'The request cannot be read or a value is invalid (problem type validation or bad-request)',
    500: 'A fault on the service side',
    503: 'Overloaded, shutting down or without its database: try again after Retry-After',
  }
  if (bodyMethods.has(method)) {
    extra[413] = 'The body is over 64 KiB'
    // The API reads JSON alone (body-rules.ts, jsonOnly); the pages that take forms are hidden.
    // And any body with a Content-Encoding (content-encoding.ts): it is never decompressed.
    const kind = op.requestBody
      ? 'The body is not JSON: send application/json'
      : 'This operation takes no body; one sent that is not JSON is refused'
    extra[415] = `${kind} (or is compressed: send it without Content-Encoding)`
  }
  if (path.includes('{')) extra[414] = 'A path parameter is longer than any the service has'
  if (rateLimited) extra[429] = 'Over the rate limit: try again after Retry-After'
  // Every route behind the staff token (src/staff/access.ts answers these before the route).
  if (usesStaffToken(op)) {
    extra[401] = 'No staff API token, or one that is unknown, revoked or of a disabled account'
    extra[403] = "The token's role does not allow this"
  }
  return extra
}

/** Whether an operation requires the staff API token (`security: [{staffToken: []}]`). */
export const usesStaffToken = (op: Json) =>
  Array.isArray(op.security) && op.security.some((s: Json) => 'staffToken' in s)

/** The staff token's challenges (RFC 6750 §3.1; src/plugins/bearer.ts, bearerRefusal). */
const wwwAuthenticate = {
  401: {
    'WWW-Authenticate': {
      description:
        'Bearer realm="admin" (RFC 6750) without a bearer token (none, or another scheme such as Basic); with error="invalid_token" when the token is unknown, revoked or of a disabled account',
      schema: { type: 'string' },
    },
  },
  400: {
    'WWW-Authenticate': {
      description:
        'Bearer realm="admin", error="invalid_request" when the Authorization header names the Bearer scheme but is not `Bearer <token>`, or comes in more than one header line (absent for other 400s)',
      schema: { type: 'string' },
    },
  },
}

/**
 * The generated document made acceptable to linters and honest about errors (Redocly's
 * recommended rules, test/ops/openapi-lint.test.ts): an operationId on each operation, an
 * explicit `security: []` on public ones, every error an RFC 9457 problem
 * (`application/problem+json`, components/schemas/Problem) including those the framework sends
 * for any route (400, 413, 414, 415, 429, 500, 503) and those of the staff token's guard on
 * every route that needs it (401 with WWW-Authenticate, 403), Retry-After on 429 and 503, the
 * rate limit's X-RateLimit-* headers on every response of the rate-limited operations
 * (`$ref`s to components/headers), and no validator-only keywords.
 */
export function finishDocument(doc: Json, rateLimited: ReadonlySet<string>): Json {
  const out = withoutPrivateKeywords(doc) as Json
  const components = (out.components ?? {}) as Json
  components.schemas = {
    ...(components.schemas as Json),
    Problem: withoutPrivateKeywords(ProblemSchema),
  }
  out.components = components
  let rateLimitHeadersUsed = false
  for (const [group, paths] of [
    ['paths', out.paths],
    ['webhooks', out.webhooks],
  ] as const) {
    for (const [path, item] of Object.entries((paths ?? {}) as Record<string, Json>)) {
      for (const method of methods) {
        const op = item[method] as Json | undefined
        if (!op) continue
        op.operationId ??= operationId(method, group === 'paths' ? path : `/webhook/${path}`)
        op.security ??= []
        if (group !== 'paths') continue
        const responses = (op.responses ?? {}) as Record<string, Json>
        const limited = rateLimited.has(`${method} ${path}`)
        const extra = frameworkResponses(op, method, path, limited)
        for (const [status, description] of Object.entries(extra)) {
          responses[status] ??= { description }
        }
        for (const [status, response] of Object.entries(responses)) {
          if (limited) {
            response.headers = { ...(response.headers as Json), ...rateLimitCounted }
            rateLimitHeadersUsed = true
          }
          if (Number(status) < 400) continue
          if (!response.description || response.description === 'Default Response') {
            response.description = extra[status] ?? STATUS_CODES[Number(status)] ?? 'Error'
          }
          response.content = problemContent
          if (status === '429' || status === '503') {
            response.headers = { ...(response.headers as Json), ...retryAfter }
          }
          if (status === '429' && limited) {
            response.headers = { ...(response.headers as Json), ...rateLimitRefused }
          }
          if ((status === '401' || status === '400') && usesStaffToken(op)) {
            response.headers = { ...(response.headers as Json), ...wwwAuthenticate[status] }
          }
        }
        op.responses = Object.fromEntries(
          Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)),
        )
      }
    }
  }
  // Only when referred to: an unused component is a linter's warning.
  if (rateLimitHeadersUsed) {
    components.headers = { ...(components.headers as Json), ...rateLimitComponents }
  }
  return out
}

/** `/api/orders/:orderNumber` -> `/api/orders/{orderNumber}`, as the document names paths. */
const documentPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')

/** The OpenAPI description of /api at /openapi.json, and Swagger UI at /docs. */
export default fp(
  async (app, { schemas = {}, webhooks }: OpenapiExtras) => {
    // Routes with a rate limit (security.ts) answer 429 and send X-RateLimit-*: the document says
    // so. Only while the limiter is there: RATE_LIMIT_MAX=0 leaves it out, and their config unread.
    const rateLimited = new Set<string>()
    app.addHook('onRoute', (route) => {
      if (!app.hasPlugin('@fastify/rate-limit')) return
      if (!(route.config as { rateLimit?: unknown } | undefined)?.rateLimit) return
      for (const m of [route.method].flat())
        rateLimited.add(`${m.toLowerCase()} ${documentPath(route.url)}`)
    })
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Order service API',
          version: '1.0.0',
          description:
            'Place orders, read them back, and see what sells best in each US state. Money is in integer cents. Errors are RFC 9457 problem details.',
          license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
        },
        // Relative: the document is served by the service it describes, wherever that runs.
        servers: [{ url: '/', description: 'This service' }],
        tags: [
          { name: 'products', description: 'The catalogue' },
          { name: 'orders', description: 'Placing orders and reading them back' },
          { name: 'insights', description: 'What sells best, nationally and by state' },
          { name: 'admin', description: 'The back office: staff API token required' },
          {
            name: 'events',
            description: 'Webhooks: what the service sends to registered endpoints',
          },
        ],
        // /api/admin/*: a staff API token (npm run staff -- token <email>), see src/staff/access.ts.
        components: {
          securitySchemes: {
            staffToken: {
              type: 'http',
              scheme: 'bearer',
              description: 'A staff API token (npm run staff -- token <email>)',
            },
          },
          schemas: schemas as never,
        },
        ...(webhooks ? { webhooks: webhooks as never } : {}),
      },
      transformObject: (document) =>
        finishDocument(
          ('openapiObject' in document ? document.openapiObject : {}) as Json,
          rateLimited,
        ) as never,
    })
    await app.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      // No badge fetched from validator.swagger.io: the CSP allows images from here only.
      uiConfig: { validatorUrl: null },
      // Swagger UI's own scripts come from /docs/static ('self'), but it injects a <style>
      // element at run time: allow inline styles on these pages only, scripts stay 'self'.
      transformStaticCSP: (header) =>
        header.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
    })
    app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger())
  },
  { name: 'openapi' },
)
