import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { foldSales } from '../../src/insights/sales-fold.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { lifecycleApi, placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, addToken, signIn } from '../helpers/staff.ts'

/**
 * A cancel queues its sales negated; once folded, a product whose every sale in a state was
 * cancelled keeps its aggregate row at 0 units. No list of best sellers may show it: not the
 * confirmation's top three, nor any insights page or answer, public or the staff's.
 */
let t: TestApp
let bearer: { authorization: string }
let staffPage: { accept: string; cookie: string }
let kept: string

beforeAll(async () => {
  t = await buildTestApp({ TOP_PRODUCTS_CACHE_MS: '0' })
  // A member without the admin role: insights are staff work.
  const clerk = await addStaff(t.app, 'clerk@example.com', 'staff')
  const token = await addToken(t.app, clerk)
  bearer = { authorization: `Bearer ${token}` }
  staffPage = { accept: 'text/html', cookie: (await signIn(t.app, 'clerk@example.com')).cookie }

  const caps = await placeOrder(t.app, [{ sku: 'CAP-003', quantity: 2 }], 'TX')
  kept = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }], 'TX')
  const lantern = await placeOrder(t.app, [{ sku: 'LMP-006', quantity: 1 }], 'VT')
  while ((await foldSales(t.app.db)) > 0) {}
  const api = lifecycleApi(t.app, token)
  await api.move(caps, 'cancelled')
  await api.move(lantern, 'cancelled')
  while ((await foldSales(t.app.db)) > 0) {}
})
afterAll(() => t?.close())

describe('products whose sales were all cancelled', () => {
  it('keep their rows at 0 units in the aggregate (what the reads must filter)', async () => {
    const rows = await t.app.db
      .selectFrom('state_product_sales')
      .select(['state', 'units'])
      .where('units', '=', 0)
      .orderBy('state')
      .execute()
    expect(rows.map((r) => [r.state, Number(r.units)])).toEqual([
      ['TX', 0],
      ['VT', 0],
    ])
  })

  it('are not in the top three, on the API or the confirmation page', async () => {
    const tx = await t.app.inject('/api/states/TX/top-products')
    expect(tx.json().products).toEqual([{ sku: 'MUG-001', name: 'Enamel Camp Mug', units: 1 }])
    expect((await t.app.inject('/api/states/VT/top-products')).json().products).toEqual([])
    const page = await t.app.inject({ url: `/orders/${kept}`, headers: { accept: 'text/html' } })
    expect(page.body).toContain('Enamel Camp Mug')
    expect(page.body).not.toContain('Waxed Canvas Cap')
  })

  it('are not in the public insights', async () => {
    const overview = (await t.app.inject('/api/insights')).json()
    expect(overview.national.map((p: { sku: string }) => p.sku)).toEqual(['MUG-001'])
    const vt = overview.states.find((s: { state: string }) => s.state === 'VT')
    expect(vt).toEqual({ state: 'VT', name: 'Vermont', units: 0, topProduct: null })
    const state = (await t.app.inject('/api/insights/TX')).json()
    expect(state.products.map((p: { sku: string }) => p.sku)).toEqual(['MUG-001'])
    for (const url of ['/insights', '/insights/TX', '/insights/VT']) {
      const res = await t.app.inject({ url, headers: { accept: 'text/html' } })
      expect(res.statusCode).toBe(200)
      expect(res.body, url).not.toContain('Waxed Canvas Cap')
      expect(res.body, url).not.toContain('Lantern')
    }
  })

  it("are not in the staff's insights, which a staff member (not admin) may read", async () => {
    const overview = await t.app.inject({ url: '/api/admin/insights', headers: bearer })
    expect(overview.statusCode).toBe(200)
    const body = overview.json()
    expect(body.national).toEqual([
      { sku: 'MUG-001', name: 'Enamel Camp Mug', units: 1, orders: 1, revenueCents: 1800 },
    ])
    const vt = body.states.find((s: { state: string }) => s.state === 'VT')
    expect(vt).toEqual({
      state: 'VT',
      name: 'Vermont',
      orders: 0,
      units: 0,
      revenueCents: 0,
      topProduct: null,
    })
    const state = (await t.app.inject({ url: '/api/admin/insights/TX', headers: bearer })).json()
    expect(state).toMatchObject({ orders: 1, units: 1, revenueCents: 1800 })
    expect(state.products).toEqual([
      { sku: 'MUG-001', name: 'Enamel Camp Mug', units: 1, orders: 1, revenueCents: 1800 },
    ])
    for (const url of ['/admin/insights', '/admin/insights/TX', '/admin/insights/VT']) {
      const res = await t.app.inject({ url, headers: staffPage })
      expect(res.statusCode).toBe(200)
      expect(res.body, url).not.toContain('Waxed Canvas Cap')
      expect(res.body, url).not.toContain('Lantern')
    }
  })
})
