// Request names (the `name` tag, so every request type gets its own latency
// submetric regardless of the order number in the URL) and custom metrics.
import { Counter, Rate, Trend } from 'k6/metrics'

/** Values of the `name` tag. No commas or braces: they are used in threshold keys. */
export const NAMES = Object.freeze({
  health: 'GET /healthz',
  home: 'GET /',
  formOrder: 'POST /orders',
  confirmation: 'GET /orders/:n',
  apiProducts: 'GET /api/products',
  apiCreate: 'POST /api/orders',
  apiReplay: 'POST /api/orders (replay)',
  apiGetOrder: 'GET /api/orders/:n',
  apiTopProducts: 'GET /api/states/:state/top-products',
})

/** Request names that get per-name latency thresholds (setup-only /healthz excluded). */
export const MEASURED_NAMES = [
  NAMES.home,
  NAMES.formOrder,
  NAMES.confirmation,
  NAMES.apiProducts,
  NAMES.apiCreate,
  NAMES.apiReplay,
  NAMES.apiGetOrder,
  NAMES.apiTopProducts,
]

/** Orders accepted (303 from the form, 201 from the API), tagged with `flow`. */
export const ordersCreated = new Counter('orders_created')

/** 409 out-of-stock answers: an expected outcome under long runs, not an error. */
export const ordersOutOfStock = new Counter('orders_out_of_stock')

/**
 * 409 price-changed answers: a chosen product's price changed after the flow read it (GET / or
 * GET /api/products). No script here changes a price; someone editing one during a run does.
 * An expected outcome, not an error.
 */
export const ordersPriceChanged = new Counter('orders_price_changed')

/** 400 answers to order submissions: means the generated test data is wrong. */
export const ordersRejected = new Counter('orders_rejected')

/** Whether a repeated Idempotency-Key returned the same order. */
export const idempotencyReplayOk = new Rate('idempotency_replay_ok')

/** End-to-end duration of one flow (all its requests), tagged with `flow`. */
export const flowDuration = new Trend('flow_duration', true)
