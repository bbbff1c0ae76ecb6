// The k6 scripts cannot run here (no k6 binary), but their parsing and summary code is plain
// JavaScript: held here to the pages the real service renders, so a template change that would
// blind the load tests fails in CI instead of at the next load test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ORDER_NUMBER_RE,
  orderNumberFromLocation,
  parseOrderForm,
  resolveLocation,
} from '../../k6/lib/html.js'
import { buildSummary } from '../../k6/lib/summary.js'
import { usStates } from '../../src/us-states.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t?.close())

describe("the k6 shopper flow's parsing, on the service's own pages", () => {
  it('finds every product, every state, the form key and the action in GET /', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/' })
    expect(page.statusCode).toBe(200)
    const form = parseOrderForm(page.body)
    const products = (await t.app.inject({ method: 'GET', url: '/api/products' })).json() as {
      sku: string
    }[]
    expect(form.skus.sort()).toEqual(products.map((p) => p.sku).sort())
    expect(form.states.sort()).toEqual(Object.keys(usStates).sort())
    expect(form.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/)
    expect(form.action).toBe('/orders')
  })

  it('posts what it parsed, reads the order number from the 303 and finds it on the confirmation', async () => {
    const form = parseOrderForm((await t.app.inject({ method: 'GET', url: '/' })).body)
    // Two products, the rest at 0, as the k6 shopper flow posts them.
    const quantities = Object.fromEntries(form.skus.map((sku) => [`qty-${sku}`, '0']))
    const fields = {
      ...quantities,
      [`qty-${form.skus[0]}`]: '2',
      [`qty-${form.skus[1]}`]: '1',
      ...customer,
      state: form.states[0] ?? '',
      idempotencyKey: form.idempotencyKey ?? '',
    }
    const res = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(fields).toString(),
    })
    expect(res.statusCode).toBe(303)
    const location = String(res.headers.location)
    const orderNumber = orderNumberFromLocation(location)
    expect(orderNumber).toMatch(ORDER_NUMBER_RE)
    const url = new URL(resolveLocation('http://localhost:3000', location))
    const confirmation = await t.app.inject({ method: 'GET', url: url.pathname })
    expect(confirmation.statusCode).toBe(200)
    expect(confirmation.body).toContain(orderNumber)
    expect(confirmation.body).toContain('Most popular in')
    const order = (await t.app.inject({ url: `/api/orders/${orderNumber}` })).json()
    expect(order.items).toHaveLength(2)
  })
})

describe("the k6 scripts' handleSummary", () => {
  // The shape k6 passes to handleSummary (metrics keyed by name, submetrics as name{tag:value}).
  const trend = (med: number, p99: number, count: number) => ({
    type: 'trend',
    contains: 'time',
    values: {
      avg: med,
      min: 0.1,
      med,
      max: p99 * 2,
      'p(90)': p99 / 2,
      'p(95)': p99 * 0.8,
      'p(99)': p99,
      count,
    },
    thresholds: { 'p(99)<50': { ok: p99 < 50 } },
  })
  const data = {
    state: { testRunDurationMs: 30_000, isStdOutTTY: false },
    root_group: {
      name: '',
      path: '',
      groups: [],
      checks: [{ name: 'GET / is 200', passes: 10, fails: 0 }],
    },
    metrics: {
      http_req_duration: trend(3, 20, 30),
      'http_req_duration{name:GET /}': trend(2, 10, 10),
      'http_req_duration{name:POST /orders}': trend(5, 60, 10),
      'http_req_duration{scenario:shopper}': trend(3, 20, 30),
      http_req_failed: {
        type: 'rate',
        contains: 'default',
        values: { rate: 0, passes: 0, fails: 30 },
        thresholds: { 'rate<0.01': { ok: true } },
      },
    },
  }

  it('writes summary.json, a CSV of latency percentiles per request and scenario, and text', () => {
    const files = buildSummary(data, {
      testType: 'load',
      dir: 'out',
      baseUrl: 'http://127.0.0.1:3000',
    })
    expect(Object.keys(files).sort()).toEqual([
      'out/latency.csv',
      'out/summary.json',
      'out/summary.txt',
      'stdout',
    ])
    expect(JSON.parse(files['out/summary.json'] ?? '')).toEqual(data)
    const csv = (files['out/latency.csv'] ?? '').trim().split('\n')
    expect(csv).toEqual([
      'kind,name,count,p50_ms,p90_ms,p95_ms,p99_ms,max_ms,avg_ms',
      'request,GET /,10,2.00,5.00,8.00,10.00,20.00,2.00',
      'request,POST /orders,10,5.00,30.00,48.00,60.00,120.00,5.00',
      'scenario,shopper,30,3.00,10.00,16.00,20.00,40.00,3.00',
      'total,all requests,30,3.00,10.00,16.00,20.00,40.00,3.00',
    ])
    expect(files.stdout).toBe(files['out/summary.txt'])
    expect(files.stdout).toContain('POST /orders')
  })
})
