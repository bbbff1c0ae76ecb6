// Soak test: a moderate constant rate for a long time (default 1 h) to surface leaks,
// connection-pool exhaustion, growing queries (e.g. top products over a growing
// orders table) and stock running out.
//   RATE=50 DURATION=1h k6 run k6/soak.js
import { envDuration, envNumber, parseDurationSeconds, thinkTime } from './lib/config.js'
import { apiFlow, checkService, shopperFlow } from './lib/flows.js'
import { baseOptions, buildThresholds } from './lib/options.js'
import { constantArrival } from './lib/scenarios.js'
import { buildSummary } from './lib/summary.js'

const RATE = envNumber('RATE', 50, 1)
const DURATION = envDuration('DURATION', '1h')
const THINK = thinkTime(0)
const EXPECTED_ITERATIONS = RATE * parseDurationSeconds(DURATION)

const SCENARIOS = constantArrival(RATE, DURATION)

export const options = baseOptions(
  'soak',
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
  return buildSummary(data, { testType: 'soak' })
}
