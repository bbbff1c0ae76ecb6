// Run-time configuration, read from environment variables (k6 exposes them as __ENV;
// `k6 run -e NAME=value` works too). Every value has a default so a bare
// `k6 run k6/smoke.js` works against a local service on port 3000.

/**
 * @param {string} name
 * @returns {string | undefined}
 */
function rawEnv(name) {
  const value = typeof __ENV === 'undefined' ? undefined : __ENV[name]
  if (value === undefined || value.trim() === '') return undefined
  return value.trim()
}

/**
 * @param {string} name
 * @param {string} fallback
 * @returns {string}
 */
export function envString(name, fallback) {
  const value = rawEnv(name)
  return value === undefined ? fallback : value
}

/**
 * A finite number from the environment; throws (failing the init phase with a clear
 * message) when the value is not a number or is below `min`.
 * @param {string} name
 * @param {number} fallback
 * @param {number} [min]
 * @returns {number}
 */
export function envNumber(name, fallback, min = 0) {
  const value = rawEnv(name)
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (!Number.isFinite(parsed) || parsed < min) {
    throw new Error(`${name} must be a number >= ${min}, got "${value}"`)
  }
  return parsed
}

/**
 * A duration from the environment in k6 notation ("30s", "2m", "1h30m", "500ms").
 * Validated here so a typo fails fast instead of deep inside the scheduler.
 * @param {string} name
 * @param {string} fallback
 * @returns {string}
 */
export function envDuration(name, fallback) {
  const value = envString(name, fallback)
  parseDurationSeconds(value, name)
  return value
}

/**
 * Converts a k6 duration string to seconds. A bare number means seconds.
 * @param {string} text
 * @param {string} [label] used in the error message
 * @returns {number}
 */
export function parseDurationSeconds(text, label = 'duration') {
  const trimmed = text.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed)
  const unitSeconds = /** @type {Record<string, number>} */ ({
    ms: 0.001,
    s: 1,
    m: 60,
    h: 3600,
  })
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g
  let total = 0
  let consumed = ''
  for (let match = re.exec(trimmed); match !== null; match = re.exec(trimmed)) {
    const amount = match[1]
    const unit = match[2]
    if (amount === undefined || unit === undefined) continue
    total += Number(amount) * (unitSeconds[unit] || 0)
    consumed += match[0]
  }
  if (consumed === '' || consumed !== trimmed) {
    throw new Error(`${label} must look like 30s, 2m, 1h30m or 500ms, got "${text}"`)
  }
  return total
}

/**
 * Formats seconds as a k6 duration string ("1h2m3s").
 * @param {number} seconds
 * @returns {string}
 */
export function formatDuration(seconds) {
  let rest = Math.max(0, Math.round(seconds))
  const h = Math.floor(rest / 3600)
  rest -= h * 3600
  const m = Math.floor(rest / 60)
  const s = rest - m * 60
  let out = ''
  if (h) out += `${h}h`
  if (m) out += `${m}m`
  if (s || out === '') out += `${s}s`
  return out
}

/** Base URL of the service under test, without a trailing slash. */
export const BASE_URL = envString('BASE_URL', 'http://localhost:3000').replace(/\/+$/, '')

/** Directory for summary.json / latency.csv / summary.txt ('' = current directory). */
export const SUMMARY_DIR = envString('SUMMARY_DIR', '').replace(/\/+$/, '')

/** Share of iterations that run the JSON API flow instead of the browser (shopper) flow. */
export const API_SHARE = Math.min(1, envNumber('API_SHARE', 0.3))

/** Probability that the API flow re-sends an order with the same Idempotency-Key. */
export const REPLAY_RATIO = Math.min(1, envNumber('REPLAY_RATIO', 0.1))

/** Per-request timeout. */
export const HTTP_TIMEOUT = envDuration('HTTP_TIMEOUT', '10s')

/**
 * Multiplier for every latency budget in the thresholds (e.g. 2 on a slow laptop).
 */
export const LATENCY_SCALE = envNumber('LATENCY_SCALE', 1)

/**
 * Think time between steps in seconds; `fallback` depends on the test type.
 * @param {number} fallback
 * @returns {number}
 */
export function thinkTime(fallback) {
  return envNumber('THINK_TIME', fallback)
}

/**
 * VU pool for an arrival-rate scenario. An iteration of either flow is 3-5 requests;
 * preallocate for ~0.5 s per iteration and allow up to ~2 s before k6 starts dropping
 * iterations (which then show up in `dropped_iterations`). PRE_VUS / MAX_VUS override
 * the totals; they are split across scenarios by `share`.
 * @param {number} rate iterations per second for this scenario
 * @param {number} [share] this scenario's fraction of the total rate
 * @returns {{ preAllocatedVUs: number, maxVUs: number }}
 */
export function vusFor(rate, share = 1) {
  const preOverride = rawEnv('PRE_VUS') === undefined ? 0 : envNumber('PRE_VUS', 0, 1)
  const maxOverride = rawEnv('MAX_VUS') === undefined ? 0 : envNumber('MAX_VUS', 0, 1)
  const preAllocatedVUs = preOverride
    ? Math.max(1, Math.ceil(preOverride * share))
    : Math.max(2, Math.ceil(rate * 0.5))
  const maxVUs = maxOverride
    ? Math.max(preAllocatedVUs, Math.ceil(maxOverride * share))
    : Math.max(preAllocatedVUs, 10, Math.ceil(rate * 2))
  return { preAllocatedVUs, maxVUs }
}

/**
 * Splits a total iteration rate between the shopper and API scenarios by API_SHARE.
 * @param {number} total
 * @returns {{ shopper: number, api: number }}
 */
export function splitRate(total) {
  const api = Math.round(total * API_SHARE)
  return { shopper: Math.max(0, Math.round(total) - api), api }
}
