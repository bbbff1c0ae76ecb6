// Scenario builders: every test runs the shopper and API flows as two scenarios so
// each flow has its own arrival rate, VU pool and `scenario` tag.
import { API_SHARE, splitRate, vusFor } from './config.js'

/**
 * @typedef {import('k6/options').Scenario} Scenario
 * @typedef {import('k6/options').Stage} Stage
 */

/** Scenario name == exported exec function name in every script. */
export const FLOWS = /** @type {const} */ (['shopper', 'api'])

/**
 * @param {'shopper' | 'api'} flow
 * @returns {number}
 */
function shareOf(flow) {
  return flow === 'api' ? API_SHARE : 1 - API_SHARE
}

/**
 * constant-arrival-rate scenarios for a total rate split by API_SHARE.
 * @param {number} totalRate iterations per second
 * @param {string} duration
 * @returns {Record<string, Scenario>}
 */
export function constantArrival(totalRate, duration) {
  const rates = splitRate(totalRate)
  /** @type {Record<string, Scenario>} */
  const scenarios = {}
  for (const flow of FLOWS) {
    const rate = rates[flow]
    if (rate <= 0) continue
    const vus = vusFor(rate, shareOf(flow))
    scenarios[flow] = {
      executor: 'constant-arrival-rate',
      exec: flow,
      rate,
      timeUnit: '1s',
      duration,
      preAllocatedVUs: vus.preAllocatedVUs,
      maxVUs: vus.maxVUs,
      gracefulStop: '30s',
    }
  }
  return scenarios
}

/**
 * ramping-arrival-rate scenarios; `stages` targets are total rates, split by API_SHARE.
 * @param {number} startRate total iterations per second at the start
 * @param {Stage[]} stages
 * @returns {Record<string, Scenario>}
 */
export function rampingArrival(startRate, stages) {
  let peak = startRate
  for (const s of stages) peak = Math.max(peak, s.target)
  /** @type {Record<string, Scenario>} */
  const scenarios = {}
  for (const flow of FLOWS) {
    const share = shareOf(flow)
    if (share <= 0) continue
    // Preallocate for the starting rate; k6 adds VUs up to maxVUs (sized for the peak)
    // as the rate climbs.
    const atStart = vusFor(Math.max(1, Math.round(startRate * share)), share)
    const atPeak = vusFor(Math.max(1, Math.round(peak * share)), share)
    const vus = { preAllocatedVUs: atStart.preAllocatedVUs, maxVUs: atPeak.maxVUs }
    scenarios[flow] = {
      executor: 'ramping-arrival-rate',
      exec: flow,
      startRate: Math.round(startRate * share),
      timeUnit: '1s',
      stages: stages.map((s) => ({ duration: s.duration, target: Math.round(s.target * share) })),
      preAllocatedVUs: vus.preAllocatedVUs,
      maxVUs: vus.maxVUs,
      gracefulStop: '30s',
    }
  }
  return scenarios
}

/**
 * Total target rate at `seconds` into a ramping schedule (linear within a stage).
 * @param {number} startRate
 * @param {Stage[]} stages
 * @param {number} seconds
 * @param {(d: string) => number} toSeconds duration parser
 * @returns {number}
 */
export function rateAt(startRate, stages, seconds, toSeconds) {
  let from = startRate
  let t = 0
  for (const s of stages) {
    const d = toSeconds(s.duration)
    if (seconds <= t + d) return d === 0 ? s.target : from + ((s.target - from) * (seconds - t)) / d
    t += d
    from = s.target
  }
  return from
}

/**
 * Iterations a ramping schedule asks for in its first `untilSeconds` (default: all of it): the
 * area under the rate curve, rates linear within a stage.
 * @param {number} startRate total iterations per second at the start
 * @param {Stage[]} stages
 * @param {(d: string) => number} toSeconds duration parser
 * @param {number} [untilSeconds]
 * @returns {number}
 */
export function plannedIterations(startRate, stages, toSeconds, untilSeconds = Infinity) {
  let total = 0
  let from = startRate
  let t = 0
  for (const s of stages) {
    const d = toSeconds(s.duration)
    const part = Math.min(d, Math.max(0, untilSeconds - t))
    const to = d === 0 ? s.target : from + ((s.target - from) * part) / d
    total += ((from + to) / 2) * part
    t += d
    from = s.target
  }
  return total
}

/**
 * The largest VU pool the arrival-rate scenarios may grow to, summed (0 when there are none):
 * the figure `dropped_iterations` is judged against in the summary's verdict.
 * @param {Record<string, Scenario>} scenarios
 * @returns {number}
 */
export function arrivalMaxVUs(scenarios) {
  let total = 0
  for (const name of Object.keys(scenarios)) {
    const s = scenarios[name]
    if (!s || !/arrival-rate$/.test(s.executor)) continue
    const pool = /** @type {{ maxVUs?: number, preAllocatedVUs?: number }} */ (s)
    total += pool.maxVUs || pool.preAllocatedVUs || 0
  }
  return total
}
