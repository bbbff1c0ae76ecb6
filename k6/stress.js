// Stress test: arrival rate climbs in steps until something gives: one of the abortOnFail
// thresholds fails (error rate, overall p95, dropped iterations), k6 stops the run and the
// summary reports the rate reached and whose limit it was: "service failing" (errors or
// latency) or "generator saturated" (k6 dropped iterations while the service answered within
// its budgets: k6 ran out of VUs or CPU first, as it does when it shares a small machine
// with the service). Per-request latency budgets are reported too but do not stop the run.
//   START_RATE=20 MAX_RATE=1000 STEPS=10 STEP_DURATION=1m k6 run k6/stress.js
import {
  envDuration,
  envNumber,
  formatDuration,
  parseDurationSeconds,
  thinkTime,
} from './lib/config.js'
import { apiFlow, shopperFlow } from './lib/flows.js'
import { baseOptions, buildThresholds } from './lib/options.js'
import { arrivalMaxVUs, plannedIterations, rampingArrival, rateAt } from './lib/scenarios.js'
import { checkService } from './lib/service-checks.js'
import { buildSummary } from './lib/summary.js'

const START_RATE = envNumber('START_RATE', 20, 1)
const MAX_RATE = envNumber('MAX_RATE', 1000, 1)
const STEPS = Math.max(1, Math.round(envNumber('STEPS', 10, 1)))
const STEP_DURATION = envDuration('STEP_DURATION', '1m')
const RAMP = envDuration('RAMP_DURATION', '10s')
const ABORT_ERROR_RATE = envNumber('ABORT_ERROR_RATE', 0.05)
const ABORT_P95_MS = envNumber('ABORT_P95_MS', 2000, 1)
const ABORT_DROPPED = envNumber('ABORT_DROPPED', 100, 1)
const THINK = thinkTime(0)

/** @type {import('k6/options').Stage[]} */
const STAGES = []
for (let i = 1; i <= STEPS; i++) {
  const target = Math.round(START_RATE + ((MAX_RATE - START_RATE) * i) / STEPS)
  STAGES.push({ duration: RAMP, target }, { duration: STEP_DURATION, target })
}
STAGES.push({ duration: '30s', target: 0 })

/** @param {string} threshold */
const abort = (threshold) => ({ threshold, abortOnFail: true, delayAbortEval: '30s' })

const SCENARIOS = rampingArrival(START_RATE, STAGES)

export const options = baseOptions(
  'stress',
  SCENARIOS,
  buildThresholds({
    scenarios: Object.keys(SCENARIOS),
    extra: {
      http_req_failed: [abort(`rate<${ABORT_ERROR_RATE}`)],
      http_req_duration: [abort(`p(95)<${ABORT_P95_MS}`)],
      dropped_iterations: [abort(`count<${ABORT_DROPPED}`)],
    },
  }),
)

export function setup() {
  let seconds = 0
  for (const s of STAGES) seconds += parseDurationSeconds(s.duration)
  console.info(
    `stress: ${START_RATE} -> ${MAX_RATE} it/s in ${STEPS} steps, up to ${formatDuration(seconds)}`,
  )
  return checkService(plannedIterations(START_RATE, STAGES, parseDurationSeconds))
}

export function shopper() {
  shopperFlow(THINK)
}

export function api() {
  apiFlow(THINK)
}

/** @param {unknown} data */
export function handleSummary(data) {
  return buildSummary(data, {
    testType: 'stress',
    maxVUs: arrivalMaxVUs(SCENARIOS),
    extraLines: (_metrics, durationMs) => {
      const reached = rateAt(START_RATE, STAGES, durationMs / 1000, parseDurationSeconds)
      return [
        `schedule     ${START_RATE} -> ${MAX_RATE} it/s in ${STEPS} steps of ${STEP_DURATION}`,
        `reached      ~${Math.round(reached)} it/s target when the run ended ` +
          '(approximate: includes setup time)',
      ]
    },
  })
}
