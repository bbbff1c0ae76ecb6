// Reading the object k6 passes to handleSummary(): metrics, checks, thresholds, run time.
//
// Reads the classic summary object (data.metrics keyed by metric name, the format
// documented for handleSummary). The newer machine-readable format (data.results.metrics
// as an array, opt-in since k6 v1.5) is also accepted, best effort.

/**
 * @typedef {object} MetricSummary
 * @property {string} type counter | gauge | rate | trend
 * @property {Record<string, number>} values
 * @property {Record<string, { ok: boolean }>} thresholds
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
 * A statistic of a metric, or 0 when the metric or the statistic is missing (k6 leaves out
 * metrics that got no sample, such as dropped_iterations in a run that dropped none).
 * @param {Record<string, MetricSummary>} metrics
 * @param {string} name e.g. http_req_duration
 * @param {string} stat e.g. p(95), count, rate, max
 * @returns {number}
 */
export function statOf(metrics, name, stat) {
  const m = metrics[name]
  const v = m ? m.values[stat] : undefined
  return typeof v === 'number' ? v : 0
}
