// Request params and response reading shared by the flows and setup(): tags, JSON bodies,
// headers, the product list and the outcome of an order that did not succeed.
import http from 'k6/http'
import { HTTP_TIMEOUT } from './config.js'
import { ordersOutOfStock, ordersPriceChanged, ordersRejected } from './metrics.js'

/**
 * @typedef {import('k6/http').Response} Response
 * @typedef {import('k6/http').Params} Params
 * @typedef {{ sku: string, name: string, priceCents: number, stock: number | null }} Product
 */

// Order submissions may legitimately answer 409 (stock exhausted, or a price changed since the
// flow read it); keep those out of http_req_failed and count them in orders_out_of_stock and
// orders_price_changed instead.
export const ORDER_STATUSES = http.expectedStatuses({ min: 200, max: 399 }, 409)
export const ONLY_404 = http.expectedStatuses(404)
export const ONLY_400 = http.expectedStatuses(400)
/** setup()'s probe order: refused, whatever the reason, is what it expects. */
export const ANY_4XX = http.expectedStatuses({ min: 400, max: 499 })

/**
 * Request params with the `name` and `flow` tags set.
 * @param {string} name
 * @param {string} flow
 * @param {Params} [extra]
 * @returns {Params}
 */
export function params(name, flow, extra) {
  return Object.assign({ tags: { name, flow }, timeout: HTTP_TIMEOUT }, extra || {})
}

/**
 * @param {Response} res
 * @returns {string}
 */
export function bodyText(res) {
  return typeof res.body === 'string' ? res.body : ''
}

/**
 * Case-insensitive response header lookup.
 * @param {Response} res
 * @param {string} name
 * @returns {string | undefined}
 */
export function header(res, name) {
  const wanted = name.toLowerCase()
  for (const key of Object.keys(res.headers || {})) {
    if (key.toLowerCase() === wanted) return res.headers[key]
  }
  return undefined
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
export function isRecord(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The parsed JSON body, or undefined when the body is not JSON.
 * @param {Response} res
 * @returns {unknown}
 */
export function jsonBody(res) {
  const text = bodyText(res)
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch (_err) {
    return undefined
  }
}

/**
 * Products from a GET /api/products body; entries without a sku are dropped.
 * @param {unknown} body
 * @returns {Product[]}
 */
export function toProducts(body) {
  if (!Array.isArray(body)) return []
  /** @type {Product[]} */
  const out = []
  for (const p of body) {
    if (!isRecord(p) || typeof p.sku !== 'string') continue
    out.push({
      sku: p.sku,
      name: typeof p.name === 'string' ? p.name : '',
      priceCents: typeof p.priceCents === 'number' ? p.priceCents : 0,
      stock: typeof p.stock === 'number' ? p.stock : null,
    })
  }
  return out
}

/**
 * Records the outcome of an order submission that did not succeed: a 409 counted by what it
 * refused, a 400 as rejected.
 * @param {Response} res
 * @param {string} flow
 * @param {() => import('./orders.js').Refusal} refusal what a 409 refused (read only for a 409)
 * @returns {boolean} true when the outcome was a 409 (expected), false otherwise
 */
export function recordOrderFailure(res, flow, refusal) {
  if (res.status === 409) {
    const counter = refusal() === 'price-changed' ? ordersPriceChanged : ordersOutOfStock
    counter.add(1, { flow })
    return true
  }
  if (res.status === 400) {
    ordersRejected.add(1, { flow })
    console.warn(`${flow}: order rejected with 400: ${bodyText(res).slice(0, 300)}`)
  }
  return false
}
