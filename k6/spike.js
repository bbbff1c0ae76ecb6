// Spike test: steady baseline, a sudden jump to many times the rate, then a drop back
// to baseline to watch recovery (latency and errors should return to baseline levels).
//   BASE_RATE=20 SPIKE_RATE=400 SPIKE_DURATION=1m k6 run k6/spike.js
// Latency budgets are relaxed (LATENCY_SCALE defaults to 3 here) and up to 5% failed
// requests are tolerated during the spike. Under 1% of the asked iterations may be dropped: a
// spike k6 could not generate is no spike the service survived (the summary's verdict says
// whether the generator or the service fell short).
import { envDuration, envNumber, parseDurationSeconds, thinkTime } from './lib/config.js'
import { apiFlow, shopperFlow } from './lib/flows.js'
import { baseOptions, buildThresholds } from './lib/options.js'
import { arrivalMaxVUs, plannedIterations, rampingArrival } from './lib/scenarios.js'
import { checkService } from './lib/service-checks.js'
import { buildSummary } from './lib/summary.js'
import { droppedThreshold } from './lib/verdict.js'

const BASE_RATE = envNumber('BASE_RATE', 20, 1)
const SPIKE_RATE = envNumber('SPIKE_RATE', 400, 1)
const WARMUP = envDuration('WARMUP_DURATION', '1m')
const SPIKE_DURATION = envDuration('SPIKE_DURATION', '1m')
const RECOVERY = envDuration('RECOVERY_DURATION', '2m')
const THINK = thinkTime(0)

/** @type {import('k6/options').Stage[]} */
const STAGES = [
  { duration: WARMUP, target: BASE_RATE }, // baseline
  { duration: '10s', target: SPIKE_RATE }, // sudden jump
  { duration: SPIKE_DURATION, target: SPIKE_RATE }, // hold the spike
  { duration: '10s', target: BASE_RATE }, // sudden drop
  { duration: RECOVERY, target: BASE_RATE }, // recovery at baseline
  { duration: '10s', target: 0 },
]

const SCENARIOS = rampingArrival(BASE_RATE, STAGES)
const PLANNED = plannedIterations(BASE_RATE, STAGES, parseDurationSeconds)

export const options = baseOptions(
  'spike',
  SCENARIOS,
  buildThresholds({
    scenarios: Object.keys(SCENARIOS),
    scale: envNumber('LATENCY_SCALE', 3),
    maxFailedRate: envNumber('MAX_FAILED_RATE', 0.05),
    minChecksRate: 0.95,
    extra: { dropped_iterations: [droppedThreshold(PLANNED)] },
  }),
)

export function setup() {
  return checkService(PLANNED)
}

export function shopper() {
  shopperFlow(THINK)
}

export function api() {
  apiFlow(THINK)
}

/** @param {unknown} data */
export function handleSummary(data) {
  return buildSummary(data, { testType: 'spike', maxVUs: arrivalMaxVUs(SCENARIOS) })
}
