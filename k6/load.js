// Load test: constant arrival rate at the expected peak, shopper and API flows mixed.
//   RATE=200 DURATION=2m API_SHARE=0.3 k6 run k6/load.js
// Arrival-rate executors start iterations on schedule no matter how slow the service
// is, so latency is measured without coordinated omission; if the VU pool runs out,
// k6 counts dropped_iterations (a threshold keeps that under 1%).
import { envDuration, envNumber, parseDurationSeconds, thinkTime } from './lib/config.js'
import { apiFlow, checkService, shopperFlow } from './lib/flows.js'
import { baseOptions, buildThresholds } from './lib/options.js'
import { constantArrival } from './lib/scenarios.js'
import { buildSummary } from './lib/summary.js'

const RATE = envNumber('RATE', 200, 1)
const DURATION = envDuration('DURATION', '2m')
const THINK = thinkTime(0)
const EXPECTED_ITERATIONS = RATE * parseDurationSeconds(DURATION)

const SCENARIOS = constantArrival(RATE, DURATION)

export const options = baseOptions(
  'load',
  SCENARIOS,
  buildThresholds({
    scenarios: Object.keys(SCENARIOS),
    extra: { dropped_iterations: [`count<${Math.max(1, Math.ceil(EXPECTED_ITERATIONS * 0.01))}`] },
  }),
)

export function setup() {
  return checkService(EXPECTED_ITERATIONS)
}

export function shopper() {
  shopperFlow(THINK)
}

export function api() {
  apiFlow(THINK)
}

/** @param {unknown} data */
export function handleSummary(data) {
  return buildSummary(data, { testType: 'load' })
}
