// The verdict the k6 summaries print: a saturated load generator must not read as a failing
// service (issue 12: stress.js blamed the service while its p95 was 30 ms and k6 used a full
// core; spike.js passed with 346 dropped iterations). The summaries are synthetic, in the shape
// k6 passes to handleSummary, with figures modelled on the real runs the issue reports.
import { describe, expect, it } from 'vitest'
import { arrivalMaxVUs, plannedIterations, rampingArrival } from '../../k6/lib/scenarios.js'
import { buildSummary } from '../../k6/lib/summary.js'
import { normalizeMetrics } from '../../k6/lib/summary-data.js'
import { droppedThreshold, verdict } from '../../k6/lib/verdict.js'

type Thresholds = Record<string, { ok: boolean }>

interface RunShape {
  started: number
  dropped: number
  vus: number
  p95: number
  failedRate: number
  thresholds?: Record<string, Thresholds>
}

/** A k6 summary object (classic handleSummary format) for one arrival-rate run. */
function summary(run: RunShape) {
  const t = run.thresholds || {}
  const metrics: Record<string, unknown> = {
    iterations: { type: 'counter', values: { count: run.started, rate: run.started / 30 } },
    http_reqs: { type: 'counter', values: { count: run.started * 3.3, rate: run.started * 0.11 } },
    http_req_duration: {
      type: 'trend',
      values: { med: run.p95 / 3, 'p(95)': run.p95, 'p(99)': run.p95 * 2, max: run.p95 * 5 },
      thresholds: t.http_req_duration || {},
    },
    http_req_failed: {
      type: 'rate',
      values: { rate: run.failedRate, passes: Math.round(run.failedRate * run.started * 3.3) },
      thresholds: t.http_req_failed || {},
    },
    vus: { type: 'gauge', values: { value: 0, min: 0, max: run.vus } },
    vus_max: { type: 'gauge', values: { value: run.vus, min: 10, max: run.vus } },
  }
  if (run.dropped > 0 || t.dropped_iterations) {
    metrics.dropped_iterations = {
      type: 'counter',
      values: { count: run.dropped, rate: run.dropped / 30 },
      thresholds: t.dropped_iterations || {},
    }
  }
  return { state: { testRunDurationMs: 30_000 }, metrics }
}

const judge = (run: RunShape, maxVUs: number) =>
  verdict(normalizeMetrics(summary(run)), { durationMs: 30_000, maxVUs })

describe('the k6 run verdict', () => {
  it('blames the generator when k6 drops iterations with VUs to spare and the service is fast', () => {
    // load.js at RATE=1000 on the 2-core box: ~290-320 it/s started, 244 VUs, 68% dropped.
    const v = judge(
      {
        started: 9600,
        dropped: 20400,
        vus: 244,
        p95: 30,
        failedRate: 0,
        thresholds: {
          dropped_iterations: { 'count<300': { ok: false } },
          http_req_failed: { 'rate<0.01': { ok: true } },
          http_req_duration: { 'p(95)<2000': { ok: true } },
        },
      },
      2000,
    )
    expect(v.kind).toBe('generator saturated')
    expect(v.text).toMatch(/^generator saturated: k6 started 9600 of 30000 iterations asked/)
    expect(v.text).toContain('(~320 of ~1000 it/s), dropped 20400 (68.00%)')
    expect(v.text).toContain('the service answered p95 30.00 ms, 0.00% of requests failed')
    expect(v.text).toContain('VUs peaked at 244 of 2000 allowed')
    expect(v.text).toContain('short of CPU')
    expect(v.text).toContain('this run measured k6, not the service')
  })

  it('says the VU pool was too small when the VUs reached maxVUs', () => {
    const v = judge(
      {
        started: 5000,
        dropped: 400,
        vus: 100,
        p95: 40,
        failedRate: 0,
        thresholds: { dropped_iterations: { 'count<54': { ok: false } } },
      },
      100,
    )
    expect(v.kind).toBe('generator saturated')
    expect(v.text).toContain('VUs reached maxVUs (100 of 100)')
    expect(v.text).toContain('raise MAX_VUS')
  })

  it('blames the service when its errors or latency fail, and counts drops as their effect', () => {
    const v = judge(
      {
        started: 6000,
        dropped: 900,
        vus: 500,
        p95: 2600,
        failedRate: 0.12,
        thresholds: {
          dropped_iterations: { 'count<100': { ok: false } },
          http_req_failed: { 'rate<0.05': { ok: false } },
          http_req_duration: { 'p(95)<2000': { ok: false } },
        },
      },
      500,
    )
    expect(v.kind).toBe('service failing')
    expect(v.reasons[0]).toBe('http_req_duration p(95)<2000 (actual 2600)')
    expect(v.reasons[1]).toBe('http_req_failed rate<0.05 (actual 0.12)')
    expect(v.text).toContain('the service answered p95 2600 ms, 12.00% of requests failed')
    expect(v.text).toContain('dropped 900 (13.04%): slow answers hold VUs')
  })

  it('passes a run that kept its schedule and its budgets', () => {
    const v = judge(
      {
        started: 6000,
        dropped: 0,
        vus: 40,
        p95: 25,
        failedRate: 0,
        thresholds: {
          dropped_iterations: { 'count<60': { ok: true } },
          http_req_failed: { 'rate<0.01': { ok: true } },
        },
      },
      400,
    )
    expect(v.kind).toBe('passed')
    expect(v.text).toBe(
      'passed: 2 of 2 thresholds passed; k6 started 6000 of 6000 iterations asked ' +
        '(~200 of ~200 it/s), dropped 0 (0.00%); the service answered p95 25.00 ms, ' +
        '0.00% of requests failed',
    )
  })

  it('does not pass a run that dropped over 1% even without a threshold on drops', () => {
    // spike.js before issue 12: no dropped_iterations threshold, 346 dropped of ~31,900 asked.
    const run = { started: 31554, dropped: 346, vus: 160, p95: 45, failedRate: 0 }
    expect(judge(run, 1600).kind).toBe('generator saturated')
    expect(judge({ ...run, dropped: 300, started: 31600 }, 1600).kind).toBe('passed')
  })
})

describe("spike.js's dropped-iterations threshold", () => {
  // spike.js's default shape: 20 it/s for 1m, 10s up to 400, 1m at 400, 10s down, 2m at 20.
  const stages = [
    { duration: '1m', target: 20 },
    { duration: '10s', target: 400 },
    { duration: '1m', target: 400 },
    { duration: '10s', target: 20 },
    { duration: '2m', target: 20 },
    { duration: '10s', target: 0 },
  ]
  const seconds = (d: string) => Number(d.slice(0, -1)) * (d.endsWith('m') ? 60 : 1)

  it('allows under 1% of the iterations the schedule asks for, so 346 dropped fails', () => {
    const planned = plannedIterations(20, stages, seconds)
    expect(planned).toBe(1200 + 2100 + 24000 + 2100 + 2400 + 100)
    expect(droppedThreshold(planned)).toBe('count<319')
    expect(droppedThreshold(0)).toBe('count<1')
  })

  it('counts only the first seconds of a schedule cut short (a stress run aborted)', () => {
    expect(plannedIterations(20, stages, seconds, 65)).toBe(1200 + 5 * ((20 + 210) / 2))
  })

  it("sums the arrival-rate scenarios' maxVUs for the verdict", () => {
    const scenarios = rampingArrival(20, stages)
    const total = Object.values(scenarios).reduce(
      (sum, s) => sum + ('maxVUs' in s ? Number(s.maxVUs) : 0),
      0,
    )
    expect(arrivalMaxVUs(scenarios)).toBe(total)
    expect(total).toBeGreaterThan(0)
    expect(arrivalMaxVUs({ a: { executor: 'constant-vus', vus: 1, duration: '1s' } })).toBe(0)
  })
})

describe('the text summary', () => {
  it('prints the verdict under the PASSED/FAILED line', () => {
    const data = summary({
      started: 9600,
      dropped: 20400,
      vus: 244,
      p95: 30,
      failedRate: 0,
      thresholds: { dropped_iterations: { 'count<300': { ok: false } } },
    })
    const files = buildSummary(data, { testType: 'load', dir: '', maxVUs: 2000 })
    const lines = (files.stdout ?? '').split('\n')
    expect(lines[1]).toBe(' order-service k6 load test: FAILED (0/1 thresholds passed)')
    expect(lines[2]).toBe(' verdict      generator saturated:')
    expect(lines[3]).toMatch(/^ {16}k6 started 9600 of 30000 iterations asked/)
    expect(files.stdout).toContain(' VUs          max 244 of 2000 allowed')
  })
})
