import type { FastifyBaseLogger } from 'fastify'
import type { ChildLoggerOptions, Logger } from 'pino'

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/**
 * A request's logger (Fastify's childLoggerFactory, app.ts) whose pino child, the one that binds
 * the request id to each line, is made on the first line written, not for every request: below
 * the level (LOG_LEVEL=warn, a request that goes well) nothing is written, and the child cost
 * each request its making and its garbage. The lines are those of the child itself.
 */
class RequestLogger {
  readonly #parent: Logger
  readonly #bindings: Record<string, unknown>
  readonly #options: ChildLoggerOptions
  #made: Logger | undefined

  constructor(parent: Logger, bindings: Record<string, unknown>, options: ChildLoggerOptions) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
    // A route's own level or serializers: the child now, as it decides what is written.
    if (options.level !== undefined || options.serializers !== undefined) this.#child()
  }

  #child(): Logger {
    this.#made ??= this.#parent.child(this.#bindings, this.#options)
    return this.#made
  }

  #write(level: Level, args: unknown[]): void {
    const logger = this.#made ?? this.#parent
    if (!logger.isLevelEnabled(level)) return
    ;(this.#child()[level] as (...a: unknown[]) => void)(...args)
  }

  get level(): string {
    return (this.#made ?? this.#parent).level
  }
  set level(level: string) {
    this.#child().level = level
  }
  isLevelEnabled(level: string): boolean {
    return (this.#made ?? this.#parent).isLevelEnabled(level)
  }
  fatal(...args: unknown[]) {
    this.#write('fatal', args)
  }
  error(...args: unknown[]) {
    this.#write('error', args)
  }
  warn(...args: unknown[]) {
    this.#write('warn', args)
  }
  info(...args: unknown[]) {
    this.#write('info', args)
  }
  debug(...args: unknown[]) {
    this.#write('debug', args)
  }
  trace(...args: unknown[]) {
    this.#write('trace', args)
  }
  silent() {}
  child(bindings: Record<string, unknown>, options?: ChildLoggerOptions): Logger {
    return this.#child().child(bindings, options)
  }
}

/** Fastify's childLoggerFactory: see RequestLogger. */
export const requestLogger = (
  logger: FastifyBaseLogger,
  bindings: Record<string, unknown>,
  options: ChildLoggerOptions,
) => new RequestLogger(logger as Logger, bindings, options) as unknown as FastifyBaseLogger
