import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

const wantsJson = (request: FastifyRequest) =>
  request.url.startsWith('/api/') || !(request.headers.accept ?? '').includes('text/html')

/** An error as JSON `{statusCode, error, message}` for programs, or as a page for browsers. */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  statusCode: number,
  message: string,
) {
  reply.code(statusCode)
  if (wantsJson(request)) {
    return reply.send({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message })
  }
  return reply.view('error.eta', {
    statusCode,
    title: STATUS_CODES[statusCode] ?? 'Error',
    message,
  })
}

const unavailableCodes = new Set([
  // Node socket errors on the way to the server
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  // PostgreSQL: shutting down, starting up, out of connections, statement timeout
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '57014',
])
const unavailableMessages =
  /Connection terminated|timeout exceeded when trying to connect|connection error and is not queryable|Client was closed and is not queryable|Query read timeout/

/** The database cannot be reached or cannot answer now: the request may work again soon. */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 3) return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && (unavailableCodes.has(code) || code.startsWith('08'))) return true
  if (unavailableMessages.test(err.message)) return true
  if (err instanceof AggregateError && err.errors.some((e) => isDatabaseUnavailable(e, depth + 1)))
    return true
  return isDatabaseUnavailable(err.cause, depth + 1)
}

/** A route template as a regular expression over paths, to tell 405 from 404. */
function pathPattern(url: string): RegExp {
  const segments = url.split('/').map((segment) => {
    if (segment.endsWith('*')) return `${escapeRegExp(segment.slice(0, -1))}.*`
    if (segment.includes(':')) return '[^/]+'
    return escapeRegExp(segment)
  })
  return new RegExp(`^${segments.join('/')}$`)
}
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * Client mistakes keep their message; anything else is logged with its stack and answered
 * with a plain sentence, so no internal detail ever reaches a client. A database that does not
 * answer is a 503 with Retry-After, fast, never a hang; an unknown method on a known path is a
 * 405 with Allow.
 */
export default fp(
  async (app) => {
    const routes = new Map<string, { pattern: RegExp; methods: Set<string> }>()
    app.addHook('onRoute', (route) => {
      let entry = routes.get(route.url)
      if (!entry) {
        entry = { pattern: pathPattern(route.url), methods: new Set() }
        routes.set(route.url, entry)
      }
      for (const m of Array.isArray(route.method) ? route.method : [route.method]) {
        entry.methods.add(m)
        if (m === 'GET') entry.methods.add('HEAD')
      }
    })
    const bodyLimitKiB = Math.floor((app.initialConfig.bodyLimit ?? 1024 * 1024) / 1024)

    app.setErrorHandler((err: FastifyError, request, reply) => {
      if (isDatabaseUnavailable(err)) {
        request.log.warn({ err: { code: err.code, message: err.message } }, 'database unavailable')
        reply.header('retry-after', '5')
        return sendError(
          request,
          reply,
          503,
          'We cannot take requests right now. Please try again in a few seconds.',
        )
      }
      const status =
        err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
      if (err.code === 'FST_UNDER_PRESSURE') return sendError(request, reply, 503, err.message)
      if (status >= 500) {
        request.log.error({ err }, 'request failed')
        return sendError(
          request,
          reply,
          status,
          'Something went wrong on our side. Please try again shortly.',
        )
      }
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return sendError(
          request,
          reply,
          413,
          `The request is too large: this service accepts at most ${bodyLimitKiB} KiB.`,
        )
      }
      return sendError(request, reply, status, err.message)
    })

    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0] ?? '/'
      const allowed = new Set<string>()
      for (const { pattern, methods } of routes.values()) {
        if (pattern.test(path)) for (const m of methods) allowed.add(m)
      }
      if (allowed.size > 0 && !allowed.has(request.method)) {
        reply.header('allow', [...allowed].sort().join(', '))
        return sendError(request, reply, 405, `${request.method} is not allowed on ${path}.`)
      }
      return sendError(request, reply, 404, `There is nothing at ${request.method} ${path}.`)
    })
  },
  { name: 'errors' },
)
