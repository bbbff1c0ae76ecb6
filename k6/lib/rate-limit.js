// The service's rate limit, as setup() sees it. With RATE_LIMIT_MAX above 0 the service refuses
// a client's orders past that many a minute with 429, and a load test places far more from one
// address: every refusal would count in http_req_failed and read as the service failing. So
// setup() sends one order the service refuses as invalid (nothing is placed) and stops the run
// when the answer announces a limit. No k6 import: test/k6/setup.test.ts runs it in Node.

/**
 * The limit an answer announces in X-RateLimit-Limit (k6 hands headers over with their names
 * canonicalised, Node in lower case: the letter case does not matter), or null for none.
 * @param {Record<string, string | string[] | undefined> | undefined} headers
 * @returns {number | null}
 */
export function announcedRateLimit(headers) {
  for (const name of Object.keys(headers || {})) {
    if (name.toLowerCase() !== 'x-ratelimit-limit') continue
    const raw = /** @type {Record<string, string | string[] | undefined>} */ (headers)[name]
    const value = Number(Array.isArray(raw) ? raw[0] : raw)
    return Number.isFinite(value) ? value : null
  }
  return null
}

/**
 * Why a run against this service cannot go on, or null when it can: the answer to setup()'s
 * probe order announces a rate limit, or is already a 429.
 * @param {{ status: number, headers?: Record<string, string | string[] | undefined> }} probe
 * @param {string} baseUrl
 * @returns {string | null}
 */
export function rateLimitRefusal(probe, baseUrl) {
  const limit = announcedRateLimit(probe.headers)
  if (limit === null && probe.status !== 429) return null
  const what = limit === null ? 'answers 429' : `allows ${limit} orders a minute per client`
  return (
    `the service at ${baseUrl} rate-limits orders (it ${what}, X-RateLimit-Limit): this run ` +
    'would get 429s for its own orders and count them as the service failing. ' +
    'Start the service with RATE_LIMIT_MAX=0 for load tests.'
  )
}
