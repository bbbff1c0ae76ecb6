import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { isDatabaseUnavailable } from '../db/errors.ts'
import { echoSafe } from '../text.ts'
import { formatSchemaErrors, markTypedLengths } from '../validation.ts'
import { prefersJson } from './accept.ts'
import { backOfficeLink } from './back-office.ts'
import { unsupportedMediaType } from './body-rules.ts'
import { RequestLog } from './logging.ts'
import { type ProblemError, type ProblemExtra, problem, validationErrors } from './problems.ts'
import { asteriskAnswer } from './request-target.ts'
import { securityHeaders } from './security.ts'
import { shuttingDown } from './shutdown.ts'

const requestLine = new RequestLog()

/** Under /api: `/api/…`, and `/api` itself (`/api?x`), whose 404 was the shop's HTML page. */
const isApi = (request: FastifyRequest) => /^\/api(?:[/?#]|$)/.test(request.url)

/** Endpoints only programs read (probes, scrapers, tooling): their errors stay JSON. */
const forPrograms = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json'])
const isForPrograms = (request: FastifyRequest) =>
  forPrograms.has(request.url.split('?', 1)[0] as string)

/** A problem entry's sentence as sendError shows it; its pointer or parameter stays exact. */
const safeEntry = (e: ProblemError): ProblemError => ({ ...e, detail: echoSafe(e.detail) })

/** The error page's one link: back into the back office under /admin, else to the shop. */
function backTo(request: FastifyRequest): { href: string; label: string } {
  const path = request.url.split('?')[0] ?? '/'
  if (path === '/admin' || path.startsWith('/admin/')) return backOfficeLink(path)
  return { href: '/', label: 'Back to the shop' }
}

/** The status, and the headers of every answer that errors raised before the hooks lack. */
function answering(request: FastifyRequest, reply: FastifyReply, statusCode: number): void {
  reply.code(statusCode)
  if (!reply.hasHeader('x-request-id')) {
    reply.headers(securityHeaders())
    reply.header('x-request-id', request.id)
  }
}

/**
 * An error as RFC 9457 problem details (problems.ts), whatever the path: every error under /api,
 * and what POST /orders tells a program its form page could not (orders/form-problems.ts).
 */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  statusCode: number,
  message: string,
  extra: ProblemExtra = {},
) {
  answering(request, reply, statusCode)
  const errors = extra.errors?.map(safeEntry)
  const body = problem(statusCode, echoSafe(message), errors ? { ...extra, errors } : extra)
  return reply.type('application/problem+json; charset=utf-8').send(body)
}

/**
 * An error for programs or browsers: under /api, RFC 9457 problem details
 * (`application/problem+json`, problems.ts: `type`, `title`, `status`, `detail`, `errors` with
 * `extra.errors`, `available` with `extra.available`, `prices` with `extra.prices`, beside `statusCode`, `error` and
 * `message`); elsewhere the error page, or JSON `{statusCode, error, message}` to a client whose
 * Accept ranks application/json above text/html (accept.ts; curl's any type gets the page) and
 * always from /healthz, /readyz, /metrics and /openapi.json, which only programs read.
 * `extra.kind`: the problem its status does not name (out-of-stock…); `extra.back`: the page's link.
 */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  statusCode: number,
  message: string,
  extra: ProblemExtra & { back?: { href: string; label: string } } = {},
) {
  if (isApi(request)) return sendProblem(request, reply, statusCode, message, extra)
  // Messages quote what clients sent (order numbers, SKUs, state codes, field names): the
  // characters the text rule refuses are shown as \u{202E}, never raw (src/text.ts).
  message = echoSafe(message)
  answering(request, reply, statusCode)
  if (isForPrograms(request) || prefersJson(request.headers.accept)) {
    return reply.send({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message })
  }
  const page = {
    statusCode,
    title: STATUS_CODES[statusCode] ?? 'Error',
    message,
    back: extra.back ?? backTo(request),
  }
  // A reply Fastify builds before routing (frameworkErrors) is a bare Reply, without the
  // decorators plugins add: render through the instance instead.
  if (typeof reply.view === 'function') return reply.view('error.eta', page)
  return request.server
    .view('error.eta', page)
    .then((html) => reply.type('text/html; charset=utf-8').send(html))
}

/**
 * A 400 for one value the service refused by its own checks (a filter, a URL's host, a body
 * with nothing to change): a `validation` problem whose `errors` holds that value's entry, by
 * JSON Pointer into the body (`{ pointer: '/url' }`, `''` for the body as a whole) or by path
 * or query parameter (`{ parameter: 'status' }`), as a value refused by a schema is answered.
 * Every such refusal goes through here, so none leaves out `errors`. `detail` is the entry's
 * own sentence when it is not the message (a schema's: "limit must be …" has "must be …").
 */
export function refuseValue(
  request: FastifyRequest,
  reply: FastifyReply,
  at: { pointer: string } | { parameter: string },
  message: string,
  detail = message,
) {
  return sendError(request, reply, 400, message, {
    kind: 'validation',
    errors: [{ ...at, detail }],
  })
}

/**
 * Fastify's `frameworkErrors`: the errors its router raises before any route or hook runs (a
 * URL whose % escapes do not decode, FST_ERR_BAD_URL; a path parameter over maxParamLength,
 * FST_ERR_MAX_PARAM_LENGTH; a failing async constraint). No hook has run: sendError adds the
 * security headers and X-Request-Id they would have set, so the answer is like every other
 * error's, a page or `{statusCode, error, message}`, and this writes its one log line.
 */
export function frameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  // Fastify writes the request's line only for routed requests; this one writes it itself.
  reply.raw.once('finish', () => requestLine.requestCompleted(null, request, reply))
  reply.raw.once('error', (failure) => requestLine.requestCompleted(failure, request, reply))
  const asterisk = asteriskAnswer(request.method, request.raw.url)
  if (asterisk) return sendError(request, reply, ...asterisk)
  if (err.code === 'FST_ERR_BAD_URL') {
    return sendError(
      request,
      reply,
      400,
      'This address cannot be read: each % in it must start an escape such as %20 that stands for UTF-8 text.',
    )
  }
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return sendError(request, reply, 414, 'This address is longer than any page of this service.')
  }
  request.log.error({ err }, 'request failed before routing')
  return sendError(
    request,
    reply,
    500,
    'Something went wrong on our side. Please try again shortly.',
  )
}

/** The path of a request target, origin-form or absolute-form, without its query. */
function pathOf(target: string): string {
  const path = target.split('?')[0] ?? '/'
  if (path.startsWith('/')) return path
  const authority = path.indexOf('//')
  const slash = authority === -1 ? -1 : path.indexOf('/', authority + 2)
  return slash === -1 ? '/' : path.slice(slash)
}

/** The client closed the connection while its body was still arriving. */
const clientGone = (err: unknown, request: FastifyRequest) =>
  request.raw.readableAborted || (request.raw.errored != null && request.raw.errored === err)

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

    /** No route takes this method at this path: 405 with Allow when others do, else 404. */
    function routeless(request: FastifyRequest, reply: FastifyReply) {
      // An absolute-form target (`http://host/path`, RFC 9112 §3.2.2) is routed by its path.
      const path = pathOf(request.url)
      const allowed = new Set<string>()
      for (const { pattern, methods } of routes.values()) {
        if (pattern.test(path)) for (const m of methods) allowed.add(m)
      }
      if (allowed.size > 0 && !allowed.has(request.method)) {
        reply.header('allow', [...allowed].sort().join(', '))
        return sendError(request, reply, 405, `${request.method} is not allowed on ${path}.`)
      }
      return sendError(request, reply, 404, `There is nothing at ${request.method} ${path}.`)
    }

    app.setErrorHandler((err: FastifyError, request, reply) => {
      if (clientGone(err, request)) {
        // Nobody is left to read an answer, and with no answer Fastify writes no line: this one
        // is the request's line (the client's reset is not the database's fault: no 503).
        request.log.info(
          {
            method: request.method,
            route: request.routeOptions.url ?? '(none)',
            statusCode: 400,
            ms: Math.round(reply.elapsedTime * 100) / 100,
            err,
          },
          'request aborted by the client before its body arrived',
        )
        reply.hijack()
        request.raw.destroy()
        return
      }
      // A request no route takes is told so whatever its body: Fastify reads a body before the
      // 404 handler, so `PUT /api/orders` was 405 with `{}` but 400 with `{` (and QUERY without
      // a Content-Type 400 in Fastify's words), as if mending the body would have served it.
      if (request.is404 && err.statusCode !== undefined && err.statusCode < 500) {
        // Set for a 415 of a Content-Encoding refused (RFC 9110 §15.5.16), not for this answer.
        reply.removeHeader('accept-encoding')
        return routeless(request, reply)
      }
      if (isDatabaseUnavailable(err)) {
        request.log.warn({ err }, 'database unavailable')
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
      if (err.code === 'FST_UNDER_PRESSURE' || err === shuttingDown)
        return sendError(request, reply, 503, err.message)
      if (status >= 500) {
        request.log.error({ err }, 'request failed')
        return sendError(
          request,
          reply,
          status,
          'Something went wrong on our side. Please try again shortly.',
        )
      }
      if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        return sendError(request, reply, 415, unsupportedMediaType(request))
      }
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return sendError(
          request,
          reply,
          413,
          `The request is too large: this service accepts at most ${bodyLimitKiB} KiB.`,
        )
      }
      if (err.validation && status === 400) {
        // No body at all (none sent, or an empty one of any type: body-parsers.ts) on a route
        // that needs one: one sentence, not the schema's "body must be object".
        if (err.validationContext === 'body' && request.body === undefined) {
          return sendError(request, reply, 400, 'The body is empty; this request needs one.')
        }
        // A text that fits as typed but not in NFC, as stored: its sentence says so.
        const retold =
          err.validationContext === 'body' && markTypedLengths(err.validation, request.body)
        const message = retold ? formatSchemaErrors(err.validation, 'body').message : err.message
        return sendError(request, reply, 400, message, {
          kind: 'validation',
          errors: validationErrors(err.validation, err.validationContext),
        })
      }
      return sendError(request, reply, status, err.message)
    })

    app.setNotFoundHandler(routeless)
  },
  { name: 'errors' },
)
