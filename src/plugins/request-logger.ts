import type { Bindings, ChildLoggerOptions, Logger } from 'pino'

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

type PinoChild = (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger

/**
 * A child logger (a request's: Fastify makes one per request, binding its id) whose pino child
 * is made on the first line written: below the level (LOG_LEVEL=warn, a request that goes well)
 * nothing is written, and the child cost each request its making and its garbage. The lines are
 * those of the pino child itself.
 */
class LazyChild {
  readonly #parent: Logger
  readonly #make: PinoChild
  readonly #bindings: Bindings
  readonly #options: ChildLoggerOptions | undefined
  #made: Logger | undefined

  constructor(parent: Logger, make: PinoChild, bindings: Bindings, options?: ChildLoggerOptions) {
    this.#parent = parent
    this.#make = make
    this.#bindings = bindings
    this.#options = options
    // A route's own level or serializers: the child now, as it decides what is written.
    if (options?.level !== undefined || options?.serializers !== undefined) this.#child()
  }

  #child(): Logger {
    this.#made ??= this.#make.call(this.#parent, this.#bindings, this.#options)
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
  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.#child().child(bindings, options)
  }
}

/**
 * Makes `logger`'s children (and theirs: a pino child inherits this) LazyChild loggers. Through
 * `child` itself, not Fastify's childLoggerFactory: Fastify checks the methods of what a factory
 * of the app's own returns, on every request, which cost as much as the child it spared.
 */
export function lazyChildren(logger: Logger): Logger {
  const make = logger.child as unknown as PinoChild
  logger.child = function (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) {
    return new LazyChild(this, make, bindings, options) as unknown as Logger
  } as unknown as Logger['child']
  return logger
}
