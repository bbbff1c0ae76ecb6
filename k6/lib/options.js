// Thresholds and the options every script shares.
import { LATENCY_SCALE, REPLAY_RATIO } from './config.js'
import { MEASURED_NAMES, NAMES } from './metrics.js'

/**
 * @typedef {import('k6/options').Options} Options
 * @typedef {import('k6/options').Threshold} Threshold
 * @typedef {import('k6/options').Scenario} Scenario
 */

/** Trend statistics kept in the summary (p50 = med). `count` feeds the CSV. */
export const TREND_STATS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count']

/**
 * Latency budgets in ms per request type: [p95, p99]. Starting points for a single
 * service instance on a developer machine; scale them all with LATENCY_SCALE.
 * @type {Record<string, readonly [number, number]>}
 */
export const LATENCY_BUDGETS = {
  [NAMES.home]: [300, 800],
  [NAMES.formOrder]: [500, 1200],
  [NAMES.confirmation]: [400, 1000],
  [NAMES.apiProducts]: [200, 500],
  [NAMES.apiCreate]: [500, 1200],
  [NAMES.apiReplay]: [300, 800],
  [NAMES.apiGetOrder]: [200, 500],
  [NAMES.apiTopProducts]: [300, 800],
}

/**
 * Budgets per scenario (all requests of the scenario together): [p95, p99].
 * @type {Record<string, readonly [number, number]>}
 */
export const SCENARIO_BUDGETS = {
  shopper: [500, 1200],
  api: [400, 1000],
}

/**
 * @typedef {object} ThresholdSettings
 * @property {string[]} scenarios scenario names that get per-scenario latency thresholds
 * @property {number} [scale] multiplier for every latency budget (default LATENCY_SCALE)
 * @property {number} [maxFailedRate] http_req_failed must stay below this (default 0.01)
 * @property {number} [minChecksRate] checks must pass above this rate (default 0.99)
 * @property {boolean} [abortOnFail] stop the run as soon as the error/latency thresholds fail
 * @property {string} [delayAbortEval] grace period before abortOnFail is evaluated
 * @property {Record<string, Threshold[]>} [extra] additional thresholds, merged last
 */

/**
 * @param {string} threshold
 * @param {boolean} abort
 * @param {string} delay
 * @returns {Threshold}
 */
function maybeAbort(threshold, abort, delay) {
  return abort ? { threshold, abortOnFail: true, delayAbortEval: delay } : threshold
}

/**
 * Builds the thresholds object. Every request name gets a `http_req_duration{name:…}`
 * entry: besides enforcing budgets, that is what makes k6 keep per-name submetrics in
 * the summary data (used for the CSV).
 * @param {ThresholdSettings} settings
 * @returns {Record<string, Threshold[]>}
 */
export function buildThresholds(settings) {
  const scale = settings.scale === undefined ? LATENCY_SCALE : settings.scale
  const abort = settings.abortOnFail === true
  const delay = settings.delayAbortEval || '30s'
  const maxFailed = settings.maxFailedRate === undefined ? 0.01 : settings.maxFailedRate
  const minChecks = settings.minChecksRate === undefined ? 0.99 : settings.minChecksRate
  /** @param {number} ms */
  const ms = (ms) => Math.round(ms * scale)

  /** @type {Record<string, Threshold[]>} */
  const thresholds = {
    http_req_failed: [maybeAbort(`rate<${maxFailed}`, abort, delay)],
    checks: [`rate>${minChecks}`],
    // Informational: always passes, but keeps the counters in the summary even at 0.
    orders_created: ['count>=0'],
    orders_out_of_stock: ['count>=0'],
    orders_price_changed: ['count>=0'],
    orders_rejected: ['count>=0'],
  }
  // With no samples a Rate reads as 0 and `rate>0.99` fails: add it only when replays happen,
  // which only the api scenario sends (none with API_SHARE=0, or a RATE too small to give it
  // one iteration a second).
  if (REPLAY_RATIO > 0 && settings.scenarios.includes('api')) {
    thresholds.idempotency_replay_ok = ['rate>0.99']
  }
  for (const name of MEASURED_NAMES) {
    const budget = LATENCY_BUDGETS[name]
    thresholds[`http_req_duration{name:${name}}`] = budget
      ? [`p(95)<${ms(budget[0])}`, `p(99)<${ms(budget[1])}`]
      : ['max>=0']
  }
  for (const scenario of settings.scenarios) {
    const budget = SCENARIO_BUDGETS[scenario]
    if (!budget) continue
    thresholds[`http_req_duration{scenario:${scenario}}`] = [
      maybeAbort(`p(95)<${ms(budget[0])}`, abort, delay),
      `p(99)<${ms(budget[1])}`,
    ]
  }
  return Object.assign(thresholds, settings.extra || {})
}

/** Default system tags minus `url`: order numbers make URLs unique, which would create
 * one time series per order. Requests are grouped by the `name` tag instead. */
const SYSTEM_TAGS = [
  'proto',
  'subproto',
  'status',
  'method',
  'name',
  'group',
  'check',
  'error',
  'error_code',
  'tls_version',
  'scenario',
  'service',
  'expected_response',
]

/**
 * Options shared by all scripts.
 * @param {string} testType smoke | load | stress | spike | soak
 * @param {Record<string, Scenario>} scenarios
 * @param {Record<string, Threshold[]>} thresholds
 * @returns {Options}
 */
export function baseOptions(testType, scenarios, thresholds) {
  return {
    scenarios,
    thresholds,
    summaryTrendStats: TREND_STATS,
    systemTags: SYSTEM_TAGS,
    tags: { test_type: testType },
    userAgent: `order-service-k6/${testType}`,
    setupTimeout: '30s',
  }
}
