import type { FastifyBaseLogger } from 'fastify'

/** One background loop's failures, logged as an outage rather than line by line. */
export interface OutageLog {
  /** A pass (or one of its statements) failed with `err`. */
  failed(err: unknown): void
  /** A pass succeeded: ends the outage, if one was under way, with one line. */
  succeeded(): void
}

/** Between two lines about the same outage: one a minute. */
export const OUTAGE_LINE_EVERY_MS = 60_000

/**
 * Logs a background loop's failures (the sales fold, the webhook dispatcher, the mail sender)
 * as one outage: the first failure at warn with its error, `${what} failed; will retry`; while it
 * lasts at most one warn line a minute, `${what} still failing`, with the failures since the
 * previous line (`failures`) and how long it has lasted (`outageMs`); and when a pass succeeds again one info
 * line, `${what} recovered`, with the outage's `failures` and `outageMs`. A database that does
 * not answer made every loop log a stack every pass (4–5 a second per worker, measured: 218
 * lines in 12 s from two workers), and Log Analytics bills per GB.
 */
export function outageLog(
  log: FastifyBaseLogger,
  what: string,
  now: () => number = Date.now,
): OutageLog {
  let since: number | undefined
  let failures = 0
  let lastLine = 0
  let unlogged = 0
  return {
    failed(err) {
      const at = now()
      failures++
      if (since === undefined) {
        since = lastLine = at
        log.warn({ err }, `${what} failed; will retry`)
        return
      }
      unlogged++
      if (at - lastLine < OUTAGE_LINE_EVERY_MS) return
      lastLine = at
      log.warn({ err, failures: unlogged, outageMs: at - since }, `${what} still failing`)
      unlogged = 0
    },
    succeeded() {
      if (since === undefined) return
      log.info({ failures, outageMs: now() - since }, `${what} recovered`)
      since = undefined
      failures = unlogged = 0
    },
  }
}

/**
 * How long a background loop waits before its next pass after `failures` failed passes in a
 * row, in ms: its usual `intervalMs` after the first (a blip costs nothing), then 1 s, 2 s, 4 s
 * and 5 s from then on (never less than `intervalMs`): a database that does not answer is not
 * asked 4–5 times a second per loop and worker, and one that is back is used within 5 s.
 */
export function retryDelayMs(intervalMs: number, failures: number): number {
  if (failures <= 1) return intervalMs
  return Math.max(intervalMs, Math.min(5000, 500 * 2 ** (failures - 1)))
}
