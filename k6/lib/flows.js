// The two user journeys. Each exported flow is one iteration: the scripts call them
// from scenario `exec` functions.
import { check, sleep } from 'k6'
import http from 'k6/http'
import { BASE_URL, REPLAY_RATIO } from './config.js'
import { pickDistinct, randomCustomer, randomInt, randomQuantity, uuidv4 } from './data.js'
import {
  ORDER_NUMBER_RE,
  orderNumberFromLocation,
  parseOrderForm,
  resolveLocation,
} from './html.js'
import {
  flowDuration,
  idempotencyReplayOk,
  NAMES,
  ordersCreated,
  ordersOutOfStock,
} from './metrics.js'
import { apiOrderItems, apiRefusal, formRefusal, orderFormFields } from './orders.js'
import {
  bodyText,
  header,
  isRecord,
  jsonBody,
  ORDER_STATUSES,
  params,
  recordOrderFailure,
  toProducts,
} from './responses.js'

/** @typedef {import('./responses.js').Product} Product */

/**
 * Browser journey: load the form, submit it url-encoded, follow the 303 to the
 * confirmation page. The redirect is followed by hand (redirects: 0) so the POST and
 * the confirmation GET get separate latency numbers.
 * @param {number} [think] seconds to pause between page view and submit
 */
export function shopperFlow(think = 0) {
  const flow = 'shopper'
  const started = Date.now()
  const page = http.get(`${BASE_URL}/`, params(NAMES.home, flow))
  const form = parseOrderForm(page.status === 200 ? bodyText(page) : '')
  const pageOk = check(page, {
    'GET / is 200': (r) => r.status === 200,
    // Each product has its hidden price, sold out or not: a page without one lists none.
    'GET / lists products': () => Object.keys(form.prices).length > 0,
    'GET / has an idempotencyKey': () => form.idempotencyKey !== null,
  })
  if (!pageOk || form.idempotencyKey === null) return
  if (form.skus.length === 0) {
    // Every product sold out (each quantity box disabled): nothing left to order, as the API
    // journey finds it. Not a service error.
    ordersOutOfStock.add(1, { flow })
    return
  }

  if (think > 0) sleep(think)

  // One to three products, as in the API journey; the others posted as 0 and every product's
  // price as shown, as a browser does.
  const chosen = pickDistinct(form.skus, randomInt(1, Math.min(3, form.skus.length)))
  /** @type {Record<string, number>} */
  const quantities = {}
  for (const sku of chosen) quantities[sku] = randomQuantity()
  const fields = orderFormFields(form, quantities, randomCustomer(form.states))
  // An object body is sent as application/x-www-form-urlencoded, like a browser.
  const res = http.post(
    `${BASE_URL}/orders`,
    fields,
    params(NAMES.formOrder, flow, { redirects: 0, responseCallback: ORDER_STATUSES }),
  )
  const location = header(res, 'Location')
  const orderNumber = orderNumberFromLocation(location)
  check(res, {
    'POST /orders is 303 (or 409 out of stock or price changed)': (r) =>
      r.status === 303 || r.status === 409,
  })
  if (res.status !== 303) {
    const refused = recordOrderFailure(res, flow, () => formRefusal(fields, bodyText(res)))
    if (!refused) flowDuration.add(Date.now() - started, { flow })
    return
  }
  const redirectOk = check(res, {
    'POST /orders redirects to /orders/<orderNumber>': () =>
      orderNumber !== null && ORDER_NUMBER_RE.test(orderNumber),
  })
  if (!redirectOk || location === undefined || orderNumber === null) return
  ordersCreated.add(1, { flow })

  const confirmation = http.get(
    resolveLocation(BASE_URL, location),
    params(NAMES.confirmation, flow),
  )
  const html = bodyText(confirmation)
  check(confirmation, {
    'confirmation is 200': (r) => r.status === 200,
    'confirmation shows the order number': () => html.indexOf(orderNumber) !== -1,
    'confirmation shows "Most popular in"': () => html.indexOf('Most popular in') !== -1,
  })
  flowDuration.add(Date.now() - started, { flow })
}

/**
 * JSON API journey: list products, create an order with an Idempotency-Key (sometimes
 * re-sending it to check the same order comes back), read it back, read the state's
 * top products.
 * @param {number} [think] seconds to pause between listing products and ordering
 * @param {number} [replayRatio] probability of re-sending the order with the same key
 */
export function apiFlow(think = 0, replayRatio = REPLAY_RATIO) {
  const flow = 'api'
  const started = Date.now()
  const json = { Accept: 'application/json' }
  const listRes = http.get(
    `${BASE_URL}/api/products`,
    params(NAMES.apiProducts, flow, { headers: json }),
  )
  const products = toProducts(jsonBody(listRes))
  const available = products.filter((p) => p.stock === null || p.stock > 0)
  const listOk = check(listRes, {
    'GET /api/products is 200': (r) => r.status === 200,
    'GET /api/products is a non-empty list': () => products.length > 0,
  })
  if (!listOk) return
  if (available.length === 0) {
    // Everything sold out: nothing left to order. Not a service error.
    ordersOutOfStock.add(1, { flow })
    return
  }

  if (think > 0) sleep(think)

  const chosen = pickDistinct(available, randomInt(1, Math.min(3, available.length)))
  // Held to the prices listed, as a client showing them would.
  const items = apiOrderItems(chosen, (p) =>
    p.stock === null ? randomQuantity() : Math.min(randomQuantity(), p.stock),
  )
  const customer = randomCustomer()
  const payload = JSON.stringify({ items, customer })
  const key = uuidv4()
  const headers = Object.assign(
    { 'Content-Type': 'application/json', 'Idempotency-Key': key },
    json,
  )

  const res = http.post(
    `${BASE_URL}/api/orders`,
    payload,
    params(NAMES.apiCreate, flow, { headers, responseCallback: ORDER_STATUSES }),
  )
  check(res, {
    'POST /api/orders is 201 (or 409 out of stock or price changed)': (r) =>
      r.status === 201 || r.status === 409,
  })
  if (res.status !== 201) {
    const refused = recordOrderFailure(res, flow, () => apiRefusal(jsonBody(res)))
    if (!refused) flowDuration.add(Date.now() - started, { flow })
    return
  }
  const order = jsonBody(res)
  const orderNumber =
    isRecord(order) && typeof order.orderNumber === 'string' ? order.orderNumber : ''
  const created = check(res, {
    'POST /api/orders returns an orderNumber': () => ORDER_NUMBER_RE.test(orderNumber),
    'POST /api/orders sets Location': () =>
      (header(res, 'Location') || '').indexOf(orderNumber) !== -1,
    'POST /api/orders totals add up': () => totalsAddUp(order, items.length),
  })
  if (!created || orderNumber === '') return
  ordersCreated.add(1, { flow })

  if (Math.random() < replayRatio) {
    const replay = http.post(
      `${BASE_URL}/api/orders`,
      payload,
      params(NAMES.apiReplay, flow, { headers, responseCallback: ORDER_STATUSES }),
    )
    const again = jsonBody(replay)
    const same =
      (replay.status === 200 || replay.status === 201) &&
      isRecord(again) &&
      again.orderNumber === orderNumber
    idempotencyReplayOk.add(same)
    check(replay, { 'same Idempotency-Key returns the same order': () => same })
  }

  const readBack = http.get(
    `${BASE_URL}/api/orders/${encodeURIComponent(orderNumber)}`,
    params(NAMES.apiGetOrder, flow, { headers: json }),
  )
  const fetched = jsonBody(readBack)
  check(readBack, {
    'GET /api/orders/:n is 200': (r) => r.status === 200,
    'GET /api/orders/:n is the same order': () =>
      isRecord(fetched) && fetched.orderNumber === orderNumber,
  })

  const top = http.get(
    `${BASE_URL}/api/states/${customer.state}/top-products`,
    params(NAMES.apiTopProducts, flow, { headers: json }),
  )
  const topBody = jsonBody(top)
  check(top, {
    'GET top-products is 200': (r) => r.status === 200,
    'GET top-products lists products for the state': () =>
      isRecord(topBody) && topBody.state === customer.state && Array.isArray(topBody.products),
  })
  flowDuration.add(Date.now() - started, { flow })
}

/**
 * Checks totalCents == sum(quantity * unitPriceCents) and the item count.
 * @param {unknown} order
 * @param {number} expectedItems
 * @returns {boolean}
 */
function totalsAddUp(order, expectedItems) {
  if (!isRecord(order) || !Array.isArray(order.items) || typeof order.totalCents !== 'number') {
    return false
  }
  let sum = 0
  for (const item of order.items) {
    if (!isRecord(item) || typeof item.quantity !== 'number') return false
    if (typeof item.unitPriceCents !== 'number') return false
    sum += item.quantity * item.unitPriceCents
  }
  return order.items.length === expectedItems && sum === order.totalCents
}
