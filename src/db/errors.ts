/**
 * What a database error means, read from its SQLSTATE (PostgreSQL docs, Appendix A "Error
 * Codes") and, for failures on the way to the server, from Node's socket errors and the
 * messages of pg and its pool. The one place that knows these codes.
 */

const codeOf = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
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

/**
 * The database cannot be reached or cannot answer now (class 08 connection exceptions, the codes
 * above, pg's connection messages; looked for in `cause` and AggregateError members, 3 deep):
 * the request may work again soon.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 3) return false
  const code = codeOf(err)
  if (code && (unavailableCodes.has(code) || code.startsWith('08'))) return true
  if (unavailableMessages.test(err.message)) return true
  if (err instanceof AggregateError && err.errors.some((e) => isDatabaseUnavailable(e, depth + 1)))
    return true
  return isDatabaseUnavailable(err.cause, depth + 1)
}

/** 23505 unique_violation: the name of the violated constraint; undefined for any other error. */
export function uniqueViolation(err: unknown): string | undefined {
  return codeOf(err) === '23505' ? (err as { constraint?: string }).constraint : undefined
}

/**
 * Class 22 (data exception) or 23 (integrity constraint violation): a value of the statement's
 * own is at fault, not the database; run without the offending row, the rest would pass.
 */
export const isDataError = (err: unknown): boolean => /^2[23]/.test(codeOf(err) ?? '')

/** 57014 query_canceled: the statement timeout (or a cancel) ended the statement. */
export const isQueryCanceled = (err: unknown): boolean => codeOf(err) === '57014'
