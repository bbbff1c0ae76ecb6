// The service's error paths (smoke test) and setup()'s health and stock check.
import { check } from 'k6'
import exec from 'k6/execution'
import http from 'k6/http'
import { BASE_URL } from './config.js'
import { NAMES } from './metrics.js'
import { rateLimitRefusal } from './rate-limit.js'
import { ANY_4XX, jsonBody, ONLY_400, ONLY_404, params, toProducts } from './responses.js'

/** @typedef {{ ok: boolean, products: number, totalStock: number | null }} SetupInfo */

/**
 * Error paths, for the smoke test: unknown orders are 404, an empty form is 400.
 * Tagged with their own names so they do not mix with the happy-path latencies.
 */
export function negativeChecks() {
  const flow = 'negative'
  const unknownPage = http.get(
    `${BASE_URL}/orders/00000-00000`,
    params('GET /orders/:n (unknown)', flow, { responseCallback: ONLY_404 }),
  )
  const unknownApi = http.get(
    `${BASE_URL}/api/orders/00000-00000`,
    params('GET /api/orders/:n (unknown)', flow, { responseCallback: ONLY_404 }),
  )
  const invalid = http.post(
    `${BASE_URL}/orders`,
    { sku: '', quantity: '0' },
    params('POST /orders (invalid)', flow, { redirects: 0, responseCallback: ONLY_400 }),
  )
  check(unknownPage, { 'unknown order page is 404': (r) => r.status === 404 })
  check(unknownApi, { 'unknown API order is 404': (r) => r.status === 404 })
  check(invalid, { 'invalid form is 400': (r) => r.status === 400 })
}

/**
 * setup(): aborts the run with a clear message when the service is not reachable, has no
 * products or rate-limits orders (rate-limit.js), and warns when stock looks too small for the
 * planned number of orders (409s would then dominate the run).
 * @param {number} expectedOrders rough number of orders the run will place
 * @returns {SetupInfo}
 */
export function checkService(expectedOrders) {
  const health = http.get(`${BASE_URL}/healthz`, { tags: { name: NAMES.health }, timeout: '5s' })
  if (health.status !== 200) {
    exec.test.abort(
      `service not healthy: GET ${BASE_URL}/healthz -> ${health.status} ${health.error || ''}. ` +
        'Start it (with RATE_LIMIT_MAX=0) or set BASE_URL.',
    )
  }
  // An order the service refuses as invalid (no items, no key): nothing is placed, and its
  // answer carries the rate limit's headers when there is one.
  const probe = http.post(`${BASE_URL}/api/orders`, '{}', {
    tags: { name: 'POST /api/orders (setup)' },
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    timeout: '5s',
    responseCallback: ANY_4XX,
  })
  const limited = rateLimitRefusal(probe, BASE_URL)
  if (limited) exec.test.abort(limited)
  const list = http.get(`${BASE_URL}/api/products`, {
    tags: { name: 'GET /api/products (setup)' },
    headers: { Accept: 'application/json' },
    timeout: '5s',
  })
  const products = toProducts(jsonBody(list))
  if (products.length === 0) {
    exec.test.abort(`GET ${BASE_URL}/api/products returned no products (status ${list.status})`)
  }
  let totalStock = /** @type {number | null} */ (0)
  for (const p of products) {
    if (p.stock === null) totalStock = null
    else if (totalStock !== null) totalStock += p.stock
  }
  const unitsNeeded = Math.round(expectedOrders * 2)
  if (totalStock !== null && totalStock < unitsNeeded) {
    console.warn(
      `total stock ${totalStock} may run out: this run places ~${Math.round(expectedOrders)} orders ` +
        `(~${unitsNeeded} units); expect 409s counted in orders_out_of_stock`,
    )
  }
  return { ok: true, products: products.length, totalStock }
}
