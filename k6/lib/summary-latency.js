// Latency percentiles per request name, per scenario and overall, and their CSV (latency.csv).

/**
 * @typedef {import('./summary-data.js').MetricSummary} MetricSummary
 *
 * @typedef {object} LatencyRow
 * @property {string} kind request | scenario | total
 * @property {string} name
 * @property {number} count
 * @property {number} p50
 * @property {number} p90
 * @property {number} p95
 * @property {number} p99
 * @property {number} max
 * @property {number} avg
 */
import { splitMetricName } from './summary-data.js'

/**
 * @param {string} kind
 * @param {string} name
 * @param {MetricSummary} metric
 * @returns {LatencyRow}
 */
function row(kind, name, metric) {
  const v = metric.values
  return {
    kind,
    name,
    count: v.count || 0,
    p50: v.med || 0,
    p90: v['p(90)'] || 0,
    p95: v['p(95)'] || 0,
    p99: v['p(99)'] || 0,
    max: v.max || 0,
    avg: v.avg || 0,
  }
}

/**
 * Latency rows: one per `name` tag, one per scenario, and the overall total.
 * @param {Record<string, MetricSummary>} metrics
 * @returns {LatencyRow[]}
 */
export function latencyRows(metrics) {
  /** @type {LatencyRow[]} */
  const requests = []
  /** @type {LatencyRow[]} */
  const scenarios = []
  for (const key of Object.keys(metrics)) {
    const metric = metrics[key]
    if (!metric) continue
    const { base, tags } = splitMetricName(key)
    const tagKeys = Object.keys(tags)
    if (base !== 'http_req_duration' || tagKeys.length !== 1) continue
    if (tags.name !== undefined) requests.push(row('request', tags.name, metric))
    else if (tags.scenario !== undefined) scenarios.push(row('scenario', tags.scenario, metric))
  }
  /** @param {LatencyRow} a @param {LatencyRow} b */
  const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  requests.sort(byName)
  scenarios.sort(byName)
  const total = metrics.http_req_duration
  return requests.concat(scenarios, total ? [row('total', 'all requests', total)] : [])
}

/**
 * @param {string} value
 * @returns {string}
 */
function csvField(value) {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

/**
 * CSV with one line per latency row; times in milliseconds.
 * @param {LatencyRow[]} rows
 * @returns {string}
 */
export function latencyCsv(rows) {
  const lines = ['kind,name,count,p50_ms,p90_ms,p95_ms,p99_ms,max_ms,avg_ms']
  for (const r of rows) {
    const nums = [r.p50, r.p90, r.p95, r.p99, r.max, r.avg].map((n) =>
      Number.isFinite(n) ? n.toFixed(2) : '',
    )
    lines.push([r.kind, csvField(r.name), String(r.count)].concat(nums).join(','))
  }
  return `${lines.join('\n')}\n`
}
