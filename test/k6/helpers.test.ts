// The k6 scripts cannot run here (no k6 binary), but their parsing and summary code is plain
// JavaScript: held here to the pages the real service renders, so a template change that would
// blind the load tests fails in CI instead of at the next load test.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ORDER_NUMBER_RE,
  orderNumberFromLocation,
  parseOrderForm,
  resolveLocation,
} from '../../k6/lib/html.js'
import { apiOrderItems, apiRefusal, formRefusal, orderFormFields } from '../../k6/lib/orders.js'
import { buildSummary } from '../../k6/lib/summary.js'
import { usStates } from '../../src/us-states.ts'
import { buildTestApp, customer, stock, type TestApp } from '../helpers/context.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t?.close())

interface Product {
  sku: string
  name: string
  priceCents: number
  stock: number | null
}
const products = async () =>
  (await t.app.inject({ method: 'GET', url: '/api/products' })).json() as Product[]
const home = async () => parseOrderForm((await t.app.inject({ method: 'GET', url: '/' })).body)
const postForm = (fields: Record<string, string>) =>
  t.app.inject({
    method: 'POST',
    url: '/orders',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  })
const setPrice = (sku: string, cents: number) =>
  t.app.db.updateTable('products').set({ price_cents: cents }).where('sku', '=', sku).execute()
const { set: setStock } = stock(() => t.app.db)

describe("the k6 shopper flow's parsing, on the service's own pages", () => {
  it('finds every product, every state, the form key and the action in GET /', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/' })
    expect(page.statusCode).toBe(200)
    const form = parseOrderForm(page.body)
    const listed = await products()
    expect(form.skus.sort()).toEqual(listed.map((p) => p.sku).sort())
    expect(form.prices).toEqual(
      Object.fromEntries(listed.map((p) => [p.sku, String(p.priceCents)])),
    )
    expect(form.states.sort()).toEqual(Object.keys(usStates).sort())
    expect(form.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/)
    expect(form.action).toBe('/orders')
  })

  it('posts what it parsed, reads the order number from the 303 and finds it on the confirmation', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/' })
    const form = parseOrderForm(page.body)
    // Two products, the rest empty, every price as shown, as the k6 shopper flow posts them.
    const [first = '', second = ''] = form.skus
    const fields = orderFormFields(form, { [first]: 2, [second]: 1 }, customer)
    expect(Object.keys(fields).filter((f) => f.startsWith('price-'))).toHaveLength(form.skus.length)
    // A product not chosen is posted as the page leaves its quantity.
    const third = form.skus[2] as string
    const shown = new RegExp(`name="qty-${third}"[^>]* value="([^"]*)"`).exec(page.body)?.[1]
    expect(fields[`qty-${third}`]).toBe(shown)
    const res = await postForm(fields)
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
    for (const item of order.items) {
      expect(String(item.unitPriceCents)).toBe(form.prices[item.sku])
    }
  })

  it('is held to the prices GET / showed: a changed one is a 409 it counts as price-changed', async () => {
    const form = await home()
    const [sku = ''] = form.skus
    const shown = Number(form.prices[sku])
    const fields = orderFormFields(form, { [sku]: 1 }, customer)
    await setPrice(sku, shown + 100)
    try {
      const res = await postForm(fields)
      expect(res.statusCode).toBe(409)
      expect(formRefusal(fields, res.body)).toBe('price-changed')
      // The form comes back with the new price: posting that places the order.
      const again = parseOrderForm(res.body)
      expect(again.prices[sku]).toBe(String(shown + 100))
      expect((await postForm(orderFormFields(again, { [sku]: 1 }, customer))).statusCode).toBe(303)
    } finally {
      await setPrice(sku, shown)
      // The form's catalogue, read at the new price by the last post, is kept a second: past it,
      // the next test's GET / shows the price restored (else its 409 reads as a price change).
      await new Promise((r) => setTimeout(r, 1100))
    }
  })

  it('tells a sold-out catalogue from a page without products: no SKU to order, every price still there', async () => {
    // k6/lib/flows.js counts the first as out of stock, not as a failed check.
    const listed = await products()
    await Promise.all(listed.map((p) => setStock(p.sku, 0)))
    try {
      await new Promise((r) => setTimeout(r, 1100)) // the form's catalogue is kept a second
      const form = await home()
      expect(form.skus).toEqual([])
      expect(Object.keys(form.prices).sort()).toEqual(listed.map((p) => p.sku).sort())
      expect(form.idempotencyKey).not.toBeNull()
    } finally {
      await Promise.all(listed.map((p) => setStock(p.sku, p.stock as number)))
      await new Promise((r) => setTimeout(r, 1100))
    }
  })

  it('counts a 409 for too little stock as out-of-stock, on the form and the API', async () => {
    const form = await home()
    const [sku = ''] = form.skus
    const fields = orderFormFields(form, { [sku]: 2 }, customer)
    const was = (await products()).find((p) => p.sku === sku)
    await setStock(sku, 1)
    try {
      const res = await postForm(fields)
      expect(res.statusCode).toBe(409)
      expect(formRefusal(fields, res.body)).toBe('out-of-stock')
      const api = await t.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': randomUUID() },
        payload: { items: apiOrderItems(was ? [was] : [], () => 2), customer },
      })
      expect(api.statusCode).toBe(409)
      expect(apiRefusal(api.json())).toBe('out-of-stock')
    } finally {
      await setStock(sku, was?.stock ?? 0)
    }
  })

  it('holds an API order to the prices GET /api/products listed, as the k6 API flow sends it', async () => {
    const [product, other] = await products()
    if (!product || !other) throw new Error('the catalogue has fewer than two products')
    const post = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': randomUUID() },
        payload: { items: apiOrderItems([product, other], () => 1), customer },
      })
    expect((await post()).statusCode).toBe(201)
    await setPrice(product.sku, product.priceCents + 100)
    try {
      const res = await post()
      expect(res.statusCode).toBe(409)
      expect(apiRefusal(res.json())).toBe('price-changed')
    } finally {
      await setPrice(product.sku, product.priceCents)
    }
  })

  it("posts a sold-out product's shown price but not its (disabled) quantity, as a browser does", async () => {
    const [soldOut] = await products()
    if (!soldOut) throw new Error('no products')
    await setStock(soldOut.sku, 0)
    try {
      // The page is rendered at most once a second: wait for one showing the product sold out.
      let form = await home()
      for (let tries = 0; form.skus.includes(soldOut.sku) && tries < 40; tries++) {
        await new Promise((r) => setTimeout(r, 100))
        form = await home()
      }
      expect(form.skus).not.toContain(soldOut.sku)
      const fields = orderFormFields(form, { [form.skus[0] ?? '']: 1 }, customer)
      expect(fields[`price-${soldOut.sku}`]).toBe(String(soldOut.priceCents))
      expect(fields).not.toHaveProperty(`qty-${soldOut.sku}`)
      expect((await postForm(fields)).statusCode).toBe(303)
    } finally {
      await setStock(soldOut.sku, soldOut.stock ?? 0)
    }
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
