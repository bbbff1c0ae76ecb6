// End-of-test output for handleSummary(): raw JSON, a CSV of latency percentiles per
// request name, and a plain-text summary on stdout with a verdict (exporting handleSummary
// replaces k6's built-in summary, and jslib's textSummary would be a remote import).
import { BASE_URL, SUMMARY_DIR } from './config.js'
import { fmt, fmtDuration, padLeft, padRight, pct } from './format.js'
import {
  collectChecks,
  normalizeMetrics,
  runDurationMs,
  statOf,
  thresholdResults,
} from './summary-data.js'
import { latencyCsv, latencyRows } from './summary-latency.js'
import { verdict } from './verdict.js'

/**
 * @typedef {import('./summary-data.js').MetricSummary} MetricSummary
 * @typedef {import('./summary-data.js').CheckResult} CheckResult
 *
 * @typedef {object} SummaryOptions
 * @property {string} testType
 * @property {string} [dir] output directory ('' = current directory); default SUMMARY_DIR
 * @property {string} [baseUrl] default BASE_URL
 * @property {number} [maxVUs] the arrival-rate scenarios' maxVUs summed (arrivalMaxVUs()), for
 *   the verdict; 0 or absent when there are none
 * @property {(metrics: Record<string, MetricSummary>, durationMs: number) => string[]} [extraLines]
 */

/**
 * The stdout summary.
 * @param {Record<string, MetricSummary>} metrics
 * @param {CheckResult[]} checks
 * @param {number} durationMs
 * @param {SummaryOptions} options
 * @param {string[]} files paths written
 * @returns {string}
 */
export function textSummary(metrics, checks, durationMs, options, files) {
  /** @param {string} name @param {string} stat */
  const val = (name, stat) => statOf(metrics, name, stat)
  const thresholds = thresholdResults(metrics)
  const failedThresholds = thresholds.filter((t) => !t.ok)
  const passed = failedThresholds.length === 0
  const judged = verdict(metrics, { durationMs, maxVUs: options.maxVUs })
  const rule = '='.repeat(86)
  const lines = [
    rule,
    ` order-service k6 ${options.testType} test: ${passed ? 'PASSED' : 'FAILED'} ` +
      `(${thresholds.length - failedThresholds.length}/${thresholds.length} thresholds passed)`,
    ` verdict      ${judged.kind}:`,
    ...judged.reasons.map((r) => `                ${r}`),
    rule,
    ` target       ${options.baseUrl || BASE_URL}`,
    ` duration     ${fmtDuration(durationMs)}`,
    ` iterations   ${val('iterations', 'count')} (${fmt(val('iterations', 'rate'))}/s), ` +
      `dropped ${val('dropped_iterations', 'count')}`,
    ` requests     ${val('http_reqs', 'count')} (${fmt(val('http_reqs', 'rate'))}/s), ` +
      `failed ${pct(val('http_req_failed', 'rate'))} (${val('http_req_failed', 'passes')})`,
    ` checks       ${pct(val('checks', 'rate'))} ` +
      `(${val('checks', 'passes')} of ${val('checks', 'passes') + val('checks', 'fails')})`,
    ` orders       created ${val('orders_created', 'count')}, ` +
      `out of stock (409) ${val('orders_out_of_stock', 'count')}, ` +
      `price changed (409) ${val('orders_price_changed', 'count')}, ` +
      `rejected (400) ${val('orders_rejected', 'count')}`,
  ]
  const replays = metrics.idempotency_replay_ok
  if (replays && (replays.values.passes || 0) + (replays.values.fails || 0) > 0) {
    lines.push(` idempotency  same order on replay ${pct(val('idempotency_replay_ok', 'rate'))}`)
  }
  const vusMax = val('vus_max', 'max') || val('vus_max', 'value')
  lines.push(` VUs          max ${vusMax}${options.maxVUs ? ` of ${options.maxVUs} allowed` : ''}`)
  if (options.extraLines) {
    for (const l of options.extraLines(metrics, durationMs)) lines.push(` ${l}`)
  }

  const rows = latencyRows(metrics)
  const width = Math.max(24, ...rows.map((r) => r.name.length + (r.kind === 'scenario' ? 9 : 0)))
  lines.push(
    '',
    ` ${padRight('latency (ms)', width)} ${['count', 'p50', 'p90', 'p95', 'p99', 'max']
      .map((h) => padLeft(h, 8))
      .join(' ')}`,
  )
  let previousKind = 'request'
  for (const r of rows) {
    if (r.kind !== previousKind) lines.push(` ${'-'.repeat(width + 54)}`)
    previousKind = r.kind
    const label = r.kind === 'scenario' ? `scenario ${r.name}` : r.name
    const cells = [String(r.count), fmt(r.p50), fmt(r.p90), fmt(r.p95), fmt(r.p99), fmt(r.max)]
    lines.push(` ${padRight(label, width)} ${cells.map((c) => padLeft(c, 8)).join(' ')}`)
  }

  lines.push('', ' thresholds')
  for (const t of thresholds) {
    const actual = t.actual === undefined ? '' : `  (actual ${fmt(t.actual)})`
    lines.push(`   ${t.ok ? 'pass' : 'FAIL'}  ${t.metric}  ${t.expression}${t.ok ? '' : actual}`)
  }

  const failedChecks = checks.filter((c) => c.fails > 0)
  if (failedChecks.length > 0) {
    lines.push('', ' failed checks')
    for (const c of failedChecks) {
      lines.push(`   ${c.name}: ${c.fails} failed of ${c.passes + c.fails}`)
    }
  }
  if (files.length > 0) lines.push('', ` written: ${files.join(', ')}`)
  lines.push(rule, '')
  return lines.join('\n')
}

/**
 * @param {string} dir
 * @param {string} file
 * @returns {string}
 */
function outputPath(dir, file) {
  return dir === '' ? file : `${dir}/${file}`
}

/**
 * The object handleSummary() returns: stdout text plus summary.json, latency.csv and
 * summary.txt in the output directory.
 * @param {unknown} data the argument k6 passes to handleSummary
 * @param {SummaryOptions} options
 * @returns {Record<string, string>}
 */
export function buildSummary(data, options) {
  const dir = options.dir === undefined ? SUMMARY_DIR : options.dir
  const metrics = normalizeMetrics(data)
  const jsonPath = outputPath(dir, 'summary.json')
  const csvPath = outputPath(dir, 'latency.csv')
  const txtPath = outputPath(dir, 'summary.txt')
  const text = textSummary(metrics, collectChecks(data), runDurationMs(data), options, [
    jsonPath,
    csvPath,
    txtPath,
  ])
  return {
    stdout: text,
    [jsonPath]: JSON.stringify(data, null, 2),
    [csvPath]: latencyCsv(latencyRows(metrics)),
    [txtPath]: text,
  }
}
