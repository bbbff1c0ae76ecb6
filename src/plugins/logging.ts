import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { resolve } from 'node:path'
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify'
import fp from 'fastify-plugin'
import pino, { type DestinationStream, type Logger } from 'pino'
import type { Config } from '../config.ts'
import { traceLogFields } from '../tracing/log-context.ts'
import { lazyChildren } from './request-logger.ts'

// Belt and braces: nothing logs a shopper's details on purpose, but an object that carries them
// (an order, a body, a customer) must not reach the logs if someone ever logs it. Explicit paths
// only: wildcards ('*.email') cost about 4 µs on every line, i.e. on every request.
const redactPaths = [
  'email',
  'address',
  'customer',
  'customer_name',
  'body',
  'req.body',
  'order.customer',
  'order.email',
  'order.address',
  'req.headers.authorization',
  'req.headers.cookie',
]

// Only these fields of an error are logged. pg errors quote the failing row in `detail`, and
// PGlite errors carry the statement's `params` and `query`: all of them can hold e-mails and
// addresses, so an allowlist rather than a blocklist.
const errorFields = ['code', 'statusCode', 'severity', 'constraint', 'table', 'column', 'syscall']

const MAX_DEPTH = 4

/**
 * An error as a log object `{type, message, stack?, code?, …, cause?, errors?}`, whatever was
 * thrown: an Error keeps its class name, message, stack and the allowlisted fields; a thrown
 * non-Error object (a driver's plain `{message, code}`, a rejected promise's odd value) keeps
 * its `name`, `message` and the same fields, never its other keys (they may hold a row), and
 * never becomes "[object Object]"; anything else is its `String()`.
 */
export function serializeError(err: unknown, depth = 0): Record<string, unknown> {
  if (err === null || typeof err !== 'object') return { type: typeof err, message: String(err) }
  const fields = err as Record<string, unknown>
  const isError = err instanceof Error
  const out: Record<string, unknown> = {
    type:
      isError && isServerError(fields)
        ? 'DatabaseError'
        : isError
          ? (err.constructor?.name ?? err.name)
          : (textOf(fields.name) ?? 'Object'),
    message: textOf(fields.message) ?? (isError ? '' : '(a thrown object without a message)'),
  }
  if (isError && err.stack) out.stack = err.stack
  for (const key of errorFields) {
    const value = fields[key]
    if (typeof value === 'string' || typeof value === 'number') out[key] = value
  }
  if (depth >= MAX_DEPTH) return out
  if (fields.cause !== undefined) out.cause = serializeError(fields.cause, depth + 1)
  if (Array.isArray(fields.errors))
    out.errors = fields.errors.slice(0, 5).map((e) => serializeError(e, depth + 1))
  return out
}

/**
 * An Error carrying a PostgreSQL ErrorResponse (severity and a five-character SQLSTATE): pg names
 * its class DatabaseError, PGlite's bundle minifies the same class to a letter ("O"), so the
 * log names the kind, not the bundler's choice.
 */
const isServerError = (fields: Record<string, unknown>) =>
  typeof fields.severity === 'string' &&
  typeof fields.code === 'string' &&
  /^[0-9A-Z]{5}$/.test(fields.code)

/** A string as it is; a number as its digits; anything else undefined (never "[object Object]"). */
const textOf = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined

/**
 * Whatever was thrown, as an Error that keeps its message and code: for places that must
 * rethrow or print one (`new Error(String(value))` would turn an object into "[object Object]").
 */
export function asError(value: unknown): Error {
  if (value instanceof Error) return value
  const { type, message, code } = serializeError(value)
  return Object.assign(new Error(`${type}: ${message}`, { cause: value }), code ? { code } : {})
}

/**
 * The service's pino logger: JSON on stdout (written asynchronously), and with LOG_FILE also to
 * that file, through a transport whose worker thread does the writing so the event loop never
 * waits on the disk. Tests pass their own destination to read what was logged.
 */
export function createLogger(config: Config, destination?: DestinationStream): Logger {
  // With tracing on, each line carries the trace and span it was written in (trace_id, span_id,
  // trace_flags), so a request's lines are found from its trace and back. Off: no mixin at all.
  const mixin = traceLogFields()
  const options = {
    level: config.LOG_LEVEL,
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: { err: serializeError },
    ...(mixin ? { mixin } : {}),
  }
  if (destination) return lazyChildren(pino(options, destination))
  if (config.LOG_FILE) {
    // The logger filters by LOG_LEVEL; the targets pass on whatever reaches them.
    const transport = pino.transport({
      targets: [
        { target: 'pino/file', level: 'trace', options: { destination: 1 } },
        {
          target: 'pino/file',
          level: 'trace',
          // Absolute: pino/file takes a destination that reads as a number (`2`, or blanks, which
          // Number() reads as 0) for a file descriptor, and wrote the logs to stderr or failed.
          options: { destination: resolve(config.LOG_FILE), mkdir: true, append: true },
        },
      ],
    })
    // pino types its transport as a plain stream; it is a thread-stream, which has its worker.
    watchLogWriter(transport as unknown as LogWriter, config.LOG_FILE)
    return lazyChildren(pino(options, transport))
  }
  return lazyChildren(pino(options, pino.destination({ dest: 1, sync: false })))
}

/** The part of pino's transport (a thread-stream) that watchLogWriter uses. */
export interface LogWriter {
  on(event: 'error', listener: (err: Error) => void): unknown
  once(event: 'ready', listener: () => void): unknown
  worker: { terminate: () => Promise<unknown> }
}

/**
 * The LOG_FILE writer's worker thread, watched: when it fails (an 'error': the disk full, the
 * file gone read-only, the thread dead) or is not ready within `readyMs` (stuck: a hung network
 * mount, mkdir looping under /proc), the process says so in one line on stderr, naming LOG_FILE,
 * and exits 1, rather than serve on with no logs at all (stdout is written by the same thread).
 * The thread is ended first, so that pino's flush at exit finds it closed rather than waiting on
 * it; a thread stuck in native code cannot be ended (and a normal exit would wait for it for
 * ever, deaf to SIGTERM), so after `stuckMs` the process kills itself (SIGKILL).
 * `exit` and `kill` are process.exit and a SIGKILL to this process (tests pass their own).
 */
export function watchLogWriter(
  writer: LogWriter,
  path: string,
  {
    readyMs = 10_000,
    stuckMs = 2000,
    exit = (code: number): void => process.exit(code),
    kill = (): void => {
      process.kill(process.pid, 'SIGKILL')
    },
  }: { readyMs?: number; stuckMs?: number; exit?: (code: number) => void; kill?: () => void } = {},
): void {
  let failed = false
  const fail = (why: string) => {
    if (failed) return
    failed = true
    process.stderr.write(`LOG_FILE ${path}: ${why}; stopping, as the service would run unlogged\n`)
    const stuck = setTimeout(kill, stuckMs)
    const stop = () => {
      clearTimeout(stuck)
      exit(1)
    }
    writer.worker.terminate().then(stop, stop)
  }
  writer.on('error', (err) => fail(`writing the logs failed (${err.message})`))
  const timer = setTimeout(
    () => fail(`the log writer did not start within ${readyMs / 1000} s`),
    readyMs,
  )
  timer.unref()
  writer.once('ready', () => clearTimeout(timer))
}

const validRequestId = /^[\w.:@-]{1,128}$/

/**
 * An incoming X-Request-Id (from the front end or the caller) is kept when it looks like an id;
 * anything else (too long, line breaks, quotes: log injection) is replaced by a fresh UUID.
 */
export function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id']
  return typeof incoming === 'string' && validRequestId.test(incoming) ? incoming : randomUUID()
}

/**
 * One log line per request, when it is answered, instead of Fastify's two: request id (echoed
 * in X-Request-Id), method, route template, status and duration. The route template, never the
 * URL: an order's URL is the capability to read it, and has no place in logs.
 */
export class RequestLog extends LogController {
  override incomingRequest() {}

  override requestCompleted(
    err: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ) {
    // Below the level nothing is written: skip building the line (and routeOptions, an object
    // Fastify builds anew on every read).
    if (!err && !(request.log as Logger).isLevelEnabled('info')) return
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? '(none)',
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    }
    // An error here is the response stream failing (client gone), not a handler's error.
    if (err) request.log.warn({ ...line, err }, 'response failed')
    else request.log.info(line, 'request completed')
  }
}

/** Echoes the request id, so a caller can quote it and we can find its line. */
export default fp(
  async (app) => {
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id)
      done()
    })
  },
  { name: 'logging' },
)
