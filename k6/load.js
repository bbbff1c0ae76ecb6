// Load test: constant arrival rate at the expected peak, shopper and API flows mixed.
//   RATE=200 DURATION=2m API_SHARE=0.3 k6 run k6/load.js
import { constantRateTest } from './lib/constant-rate.js'

const test = constantRateTest('load', 200, '2m')

export const options = test.options
export const setup = test.setup
export const shopper = test.shopper
export const api = test.api
export const handleSummary = test.handleSummary
