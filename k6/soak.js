// Soak test: a moderate constant rate for a long time (default 1 h) to surface leaks,
// connection-pool exhaustion, growing queries and stock running out.
//   RATE=50 DURATION=1h k6 run k6/soak.js
import { constantRateTest } from './lib/constant-rate.js'

const test = constantRateTest('soak', 50, '1h')

export const options = test.options
export const setup = test.setup
export const shopper = test.shopper
export const api = test.api
export const handleSummary = test.handleSummary
