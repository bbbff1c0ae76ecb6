// Smoke test: one VU per flow for ~30 s. Verifies the scripts and the service agree
// (every check must pass, no failed requests) before spending time on bigger runs.
//   k6 run k6/smoke.js            BASE_URL, DURATION (30s), THINK_TIME (1)
import exec from 'k6/execution'
import { envDuration, parseDurationSeconds, thinkTime } from './lib/config.js'
import { apiFlow, shopperFlow } from './lib/flows.js'
import { baseOptions, buildThresholds } from './lib/options.js'
import { checkService, negativeChecks } from './lib/service-checks.js'
import { buildSummary } from './lib/summary.js'

const DURATION = envDuration('DURATION', '30s')
const THINK = thinkTime(1)

export const options = baseOptions(
  'smoke',
  {
    shopper: { executor: 'constant-vus', exec: 'shopper', vus: 1, duration: DURATION },
    api: { executor: 'constant-vus', exec: 'api', vus: 1, duration: DURATION },
  },
  buildThresholds({
    scenarios: ['shopper', 'api'],
    extra: {
      // Strict: a smoke run has no business failing anything.
      http_req_failed: ['rate==0'],
      checks: ['rate==1'],
      orders_rejected: ['count==0'],
      idempotency_replay_ok: ['rate==1'],
      'http_req_duration{name:GET /orders/:n (unknown)}': ['max>=0'],
      'http_req_duration{name:GET /api/orders/:n (unknown)}': ['max>=0'],
      'http_req_duration{name:POST /orders (invalid)}': ['max>=0'],
    },
  }),
)

export function setup() {
  return checkService((2 * parseDurationSeconds(DURATION)) / Math.max(THINK, 0.2))
}

export function shopper() {
  if (exec.scenario.iterationInTest === 0) negativeChecks()
  shopperFlow(THINK)
}

export function api() {
  // Replay the Idempotency-Key often so the smoke run always exercises it.
  apiFlow(THINK, exec.scenario.iterationInTest === 0 ? 1 : 0.5)
}

/** @param {unknown} data */
export function handleSummary(data) {
  return buildSummary(data, { testType: 'smoke' })
}
