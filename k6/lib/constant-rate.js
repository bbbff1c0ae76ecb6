// A constant-arrival-rate test of both flows, shared by load.js and soak.js, which differ only
// in their default rate and duration. Arrival-rate executors start iterations on schedule no
// matter how slow the service is, so latency is measured without coordinated omission; if the
// VU pool runs out or k6 is short of CPU, k6 counts dropped_iterations (a threshold keeps that
// under 1%, and the summary's verdict says whether the generator or the service fell short).
import { envDuration, envNumber, parseDurationSeconds, thinkTime } from './config.js'
import { apiFlow, shopperFlow } from './flows.js'
import { baseOptions, buildThresholds } from './options.js'
import { arrivalMaxVUs, constantArrival } from './scenarios.js'
import { checkService } from './service-checks.js'
import { buildSummary } from './summary.js'
import { droppedThreshold } from './verdict.js'

/**
 * @param {string} testType
 * @param {number} defaultRate iterations per second when RATE is not set
 * @param {string} defaultDuration when DURATION is not set
 */
export function constantRateTest(testType, defaultRate, defaultDuration) {
  const rate = envNumber('RATE', defaultRate, 1)
  const duration = envDuration('DURATION', defaultDuration)
  const think = thinkTime(0)
  const expectedIterations = rate * parseDurationSeconds(duration)
  const scenarios = constantArrival(rate, duration)

  return {
    options: baseOptions(
      testType,
      scenarios,
      buildThresholds({
        scenarios: Object.keys(scenarios),
        extra: {
          dropped_iterations: [droppedThreshold(expectedIterations)],
        },
      }),
    ),
    setup: () => checkService(expectedIterations),
    shopper: () => shopperFlow(think),
    api: () => apiFlow(think),
    /** @param {unknown} data */
    handleSummary: (data) => buildSummary(data, { testType, maxVUs: arrivalMaxVUs(scenarios) }),
  }
}
