// End-of-test output for handleSummary(): raw JSON, a CSV of latency percentiles per
// request name, and a plain-text summary on stdout (exporting handleSummary replaces
// k6's built-in summary, and jslib's textSummary would be a remote import).
//
// Reads the classic summary object (data.metrics keyed by metric name, the format
// documented for handleSummary). The newer machine-readable format (data.results.metrics
// as an array, opt-in since k6 v1.5) is also accepted, best effort.
import { BASE_URL, SUMMARY_DIR } from './config.js'

/**
 * @typedef {object} MetricSummary
 * @property {string} type counter | gauge | rate | trend
 * @property {Record<string, number>} values
 * @property {Record<string, { ok: boolean }>} thresholds
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
 *
 * @typedef {object} ThresholdResult
 * @property {string} metric
 * @property {string} expression
 * @property {boolean} ok
 * @property {number | undefined} actual the statistic the expression tests, if known
 *
 * @typedef {object} CheckResult
 * @property {string} name
 * @property {number} passes
 * @property {number} fails
 *
 * @typedef {object} SummaryOptions
 * @property {string} testType
 * @property {string} [dir] output directory ('' = current directory); default SUMMARY_DIR
 * @property {string} [baseUrl] default BASE_URL
 * @property {(metrics: Record<string, MetricSummary>, durationMs: number) => string[]} [extraLines]
 */

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isRecord(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * @param {unknown} value
 * @returns {Record<string, number>}
 */
function numbers(value) {
  /** @type {Record<string, number>} */
  const out = {}
  if (!isRecord(value)) return out
  for (const key of Object.keys(value)) {
    const v = value[key]
    if (typeof v === 'number') out[key] = v
  }
  return out
}

/**
 * @param {unknown} value
 * @returns {Record<string, { ok: boolean }>}
 */
function thresholdMap(value) {
  /** @type {Record<string, { ok: boolean }>} */
  const out = {}
  if (Array.isArray(value)) {
    // Possible array form: [{ source|expression, ok }]
    for (const t of value) {
      if (!isRecord(t)) continue
      const expr = typeof t.source === 'string' ? t.source : t.expression
      if (typeof expr === 'string') out[expr] = { ok: t.ok !== false }
    }
    return out
  }
  if (!isRecord(value)) return out
  for (const key of Object.keys(value)) {
    const t = value[key]
    out[key] = { ok: !(isRecord(t) && t.ok === false) }
  }
  return out
}

/**
 * @param {unknown} raw
 * @returns {MetricSummary}
 */
function toMetric(raw) {
  const m = isRecord(raw) ? raw : {}
  return {
    type: typeof m.type === 'string' ? m.type : '',
    values: numbers(m.values),
    thresholds: thresholdMap(m.thresholds),
  }
}

/**
 * Metrics keyed by name ("http_req_duration{name:GET /}" for submetrics).
 * @param {unknown} data
 * @returns {Record<string, MetricSummary>}
 */
export function normalizeMetrics(data) {
  /** @type {Record<string, MetricSummary>} */
  const out = {}
  if (!isRecord(data)) return out
  if (isRecord(data.metrics)) {
    for (const name of Object.keys(data.metrics)) out[name] = toMetric(data.metrics[name])
    return out
  }
  const results = isRecord(data.results) ? data.results : {}
  if (Array.isArray(results.metrics)) {
    for (const raw of results.metrics) {
      if (isRecord(raw) && typeof raw.name === 'string') out[raw.name] = toMetric(raw)
    }
  }
  return out
}

/**
 * Test run duration in milliseconds (0 if unknown).
 * @param {unknown} data
 * @returns {number}
 */
export function runDurationMs(data) {
  if (!isRecord(data)) return 0
  if (isRecord(data.state) && typeof data.state.testRunDurationMs === 'number') {
    return data.state.testRunDurationMs
  }
  if (isRecord(data.config) && typeof data.config.duration === 'number') {
    return data.config.duration * 1000
  }
  return 0
}

/**
 * Checks with their pass/fail counts, flattened over groups.
 * @param {unknown} data
 * @returns {CheckResult[]}
 */
export function collectChecks(data) {
  /** @type {CheckResult[]} */
  const out = []
  /** @param {unknown} list */
  const addAll = (list) => {
    if (!Array.isArray(list)) return
    for (const c of list) {
      if (!isRecord(c) || typeof c.name !== 'string') continue
      out.push({
        name: c.name,
        passes: typeof c.passes === 'number' ? c.passes : 0,
        fails: typeof c.fails === 'number' ? c.fails : 0,
      })
    }
  }
  /** @param {unknown} group */
  const walk = (group) => {
    if (!isRecord(group)) return
    addAll(group.checks)
    if (Array.isArray(group.groups)) for (const g of group.groups) walk(g)
  }
  if (!isRecord(data)) return out
  walk(data.root_group)
  if (isRecord(data.results) && isRecord(data.results.checks)) {
    addAll(data.results.checks.orderedChecks)
  }
  return out
}

/**
 * @param {string} metricName e.g. http_req_duration{name:GET /}
 * @returns {{ base: string, tags: Record<string, string> }}
 */
export function splitMetricName(metricName) {
  const open = metricName.indexOf('{')
  if (open === -1 || !metricName.endsWith('}')) return { base: metricName, tags: {} }
  /** @type {Record<string, string>} */
  const tags = {}
  for (const part of metricName.slice(open + 1, -1).split(',')) {
    const colon = part.indexOf(':')
    if (colon > 0) tags[part.slice(0, colon).trim()] = part.slice(colon + 1).trim()
  }
  return { base: metricName.slice(0, open), tags }
}

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

/**
 * All threshold results with the statistic each one tests.
 * @param {Record<string, MetricSummary>} metrics
 * @returns {ThresholdResult[]}
 */
export function thresholdResults(metrics) {
  /** @type {ThresholdResult[]} */
  const out = []
  for (const name of Object.keys(metrics).sort()) {
    const metric = metrics[name]
    if (!metric) continue
    for (const expression of Object.keys(metric.thresholds)) {
      const stat = /^\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?)/.exec(expression)
      const statName = stat ? stat[1] : undefined
      const key = statName === undefined ? '' : statName === 'p(50)' ? 'med' : statName
      const result = metric.thresholds[expression]
      out.push({
        metric: name,
        expression,
        ok: !(result && result.ok === false),
        actual: key === '' ? undefined : metric.values[key],
      })
    }
  }
  return out
}

/**
 * @param {string} text
 * @param {number} width
 * @returns {string}
 */
function padRight(text, width) {
  return text.length >= width ? text : text + ' '.repeat(width - text.length)
}

/**
 * @param {string} text
 * @param {number} width
 * @returns {string}
 */
function padLeft(text, width) {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text
}

/**
 * @param {number} ratio
 * @returns {string}
 */
function pct(ratio) {
  return `${(ratio * 100).toFixed(2)}%`
}

/**
 * @param {number} n
 * @returns {string}
 */
function fmt(n) {
  if (!Number.isFinite(n)) return '-'
  if (Math.abs(n) >= 1000) return n.toFixed(0)
  if (Math.abs(n) >= 100) return n.toFixed(1)
  return n.toFixed(2)
}

/**
 * @param {number} ms
 * @returns {string}
 */
function fmtDuration(ms) {
  const totalSeconds = ms / 1000
  const h = Math.floor(totalSeconds / 3600)
  const m = Math.floor((totalSeconds - h * 3600) / 60)
  const s = totalSeconds - h * 3600 - m * 60
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s.toFixed(1)}s`
}

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
  const val = (name, stat) => {
    const m = metrics[name]
    return m && typeof m.values[stat] === 'number' ? /** @type {number} */ (m.values[stat]) : 0
  }
  const thresholds = thresholdResults(metrics)
  const failedThresholds = thresholds.filter((t) => !t.ok)
  const passed = failedThresholds.length === 0
  const rule = '='.repeat(86)
  const lines = [
    rule,
    ` order-service k6 ${options.testType} test: ${passed ? 'PASSED' : 'FAILED'} ` +
      `(${thresholds.length - failedThresholds.length}/${thresholds.length} thresholds passed)`,
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
      `rejected (400) ${val('orders_rejected', 'count')}`,
  ]
  const replays = metrics.idempotency_replay_ok
  if (replays && (replays.values.passes || 0) + (replays.values.fails || 0) > 0) {
    lines.push(` idempotency  same order on replay ${pct(val('idempotency_replay_ok', 'rate'))}`)
  }
  lines.push(` VUs          max ${val('vus_max', 'max') || val('vus_max', 'value')}`)
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
