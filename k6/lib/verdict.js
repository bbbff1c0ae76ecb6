// The run's verdict: did it pass, did the service fail, or did the load generator (k6 itself)
// run out of VUs or CPU before the service did? One box running both k6 and the service
// reaches the generator's limit first (docs/load-testing.md), and a threshold on
// dropped_iterations alone cannot say whose limit it was.
//
// Rules, from the summary alone (k6 does not report its own CPU):
// - service failing: a threshold on what the service answered failed (http_req_failed,
//   http_req_duration and its submetrics, checks, orders_*, idempotency_replay_ok). Slow answers
//   hold VUs, so drops that come with them are the service's doing and are only reported.
// - generator saturated: every service threshold passed, yet k6 did not start the iterations it
//   was asked for: the dropped_iterations threshold failed, or (with no such threshold) over 1%
//   were dropped. Arrival-rate executors count each iteration they could not start on time as
//   dropped, so asked = started + dropped. With VUs at maxVUs the pool was too small for
//   rate x iteration duration; below it, k6 could not even start VUs in time: it was short of CPU.
// - passed: every threshold passed and no more than 1% of the iterations were dropped.
import { fmt, pct } from './format.js'
import { splitMetricName, statOf, thresholdResults } from './summary-data.js'

/**
 * @typedef {import('./summary-data.js').MetricSummary} MetricSummary
 *
 * @typedef {object} Verdict
 * @property {'passed' | 'service failing' | 'generator saturated'} kind
 * @property {string[]} reasons the figures behind the kind, one per line
 * @property {string} text `${kind}: ${reasons joined by '; '}`
 */

/** Metrics that describe the load generator, not the service. */
const GENERATOR_METRICS = [
  'dropped_iterations',
  'iterations',
  'iteration_duration',
  'vus',
  'vus_max',
]

/** Share of asked iterations k6 may drop before the verdict blames the generator. */
export const DROPPED_SHARE = 0.01

/**
 * The dropped_iterations threshold of the arrival-rate scripts: under DROPPED_SHARE of the
 * iterations the schedule asks for, at least one. Without it a run that could not generate
 * its load still passes (spike.js did, with 346 dropped).
 * @param {number} plannedIterations
 * @returns {string} e.g. "count<240"
 */
export function droppedThreshold(plannedIterations) {
  return `count<${Math.max(1, Math.ceil(plannedIterations * DROPPED_SHARE))}`
}

/**
 * @param {Record<string, MetricSummary>} metrics
 * @returns {string} e.g. "the service answered p95 30.0 ms, 0.00% of requests failed"
 */
function serviceFigures(metrics) {
  const p95 = fmt(statOf(metrics, 'http_req_duration', 'p(95)'))
  const failed = pct(statOf(metrics, 'http_req_failed', 'rate'))
  return `the service answered p95 ${p95} ms, ${failed} of requests failed`
}

/**
 * Started, dropped and asked iterations, with the rates over the run.
 * @param {Record<string, MetricSummary>} metrics
 * @param {number} durationMs
 * @returns {string}
 */
function iterationFigures(metrics, durationMs) {
  const started = statOf(metrics, 'iterations', 'count')
  const dropped = statOf(metrics, 'dropped_iterations', 'count')
  const asked = started + dropped
  const seconds = durationMs / 1000
  const rates =
    seconds > 0
      ? ` (~${Math.round(started / seconds)} of ~${Math.round(asked / seconds)} it/s)`
      : ''
  return `k6 started ${started} of ${asked} iterations asked${rates}, dropped ${dropped} (${pct(asked > 0 ? dropped / asked : 0)})`
}

/**
 * @param {Record<string, MetricSummary>} metrics
 * @param {number} maxVUs the arrival-rate scenarios' maxVUs summed (0: unknown)
 * @returns {string[]} where the VUs stood and what to change
 */
function generatorHints(metrics, maxVUs) {
  const peak = Math.max(
    statOf(metrics, 'vus_max', 'max'),
    statOf(metrics, 'vus_max', 'value'),
    statOf(metrics, 'vus', 'max'),
  )
  if (maxVUs > 0 && peak >= maxVUs) {
    return [
      `VUs reached maxVUs (${peak} of ${maxVUs}): the pool < rate x iteration duration`,
      'raise MAX_VUS if k6 has CPU to spare, else lower RATE or add a generator machine',
    ]
  }
  const of = maxVUs > 0 ? ` of ${maxVUs} allowed` : ''
  return [
    `VUs peaked at ${peak}${of}: VUs to spare, so k6 was short of CPU`,
    'run k6 on its own machine (or several), or lower RATE',
  ]
}

/**
 * The verdict of a run from its summary metrics.
 * @param {Record<string, MetricSummary>} metrics as normalizeMetrics() returns them
 * @param {{ durationMs?: number, maxVUs?: number }} [run] run length and the VU ceiling
 * @returns {Verdict}
 */
export function verdict(metrics, run = {}) {
  const durationMs = run.durationMs || 0
  const thresholds = thresholdResults(metrics)
  const isGenerator = (/** @type {string} */ name) =>
    GENERATOR_METRICS.indexOf(splitMetricName(name).base) !== -1
  const serviceFailures = thresholds.filter((t) => !t.ok && !isGenerator(t.metric))
  const generatorFailures = thresholds.filter((t) => !t.ok && isGenerator(t.metric))
  const dropped = statOf(metrics, 'dropped_iterations', 'count')
  const asked = statOf(metrics, 'iterations', 'count') + dropped
  const droppedThreshold = thresholds.some((t) => t.metric === 'dropped_iterations')
  const tooManyDropped = !droppedThreshold && dropped > asked * DROPPED_SHARE

  /** @type {Verdict['kind']} */
  let kind = 'passed'
  /** @type {string[]} */
  let reasons
  if (serviceFailures.length > 0) {
    kind = 'service failing'
    reasons = serviceFailures.map((t) => {
      const actual = t.actual === undefined ? '' : ` (actual ${fmt(t.actual)})`
      return `${t.metric} ${t.expression}${actual}`
    })
    reasons.push(serviceFigures(metrics))
    if (dropped > 0) reasons.push(`${iterationFigures(metrics, durationMs)}: slow answers hold VUs`)
  } else if (generatorFailures.length > 0 || tooManyDropped) {
    kind = 'generator saturated'
    reasons = [iterationFigures(metrics, durationMs), serviceFigures(metrics)]
    reasons.push(...generatorHints(metrics, run.maxVUs || 0))
    reasons.push('this run measured k6, not the service')
  } else {
    reasons = [`${thresholds.length} of ${thresholds.length} thresholds passed`]
    if (asked > 0) reasons.push(iterationFigures(metrics, durationMs))
    reasons.push(serviceFigures(metrics))
  }
  return { kind, reasons, text: `${kind}: ${reasons.join('; ')}` }
}
