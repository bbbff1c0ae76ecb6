import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { foldSales } from '../../src/insights/sales-fold.ts'
import { placeOrder } from '../../src/orders/place-order.ts'
import { stateCodes } from '../../src/us-states.ts'
import { buildTestApp, customer, type TestApp, usingPostgres } from '../helpers/context.ts'
import { aggregates, groupByOrderLines } from '../helpers/insights.ts'
import { addStaff, addToken, signIn } from '../helpers/staff.ts'

let t: TestApp
const html = { accept: 'text/html' }
// Orders and revenue are the staff's (issue 15): a member's API token and page session.
let bearer: { authorization: string }
let staffPage: { accept: string; cookie: string }

// Cache off: every request reads what the test has just folded.
beforeAll(async () => {
  t = await buildTestApp({ TOP_PRODUCTS_CACHE_MS: '0' })
  const orders: [string, [string, number][]][] = [
    ['CA', [['CHR-014', 3]]],
    [
      'CA',
      [
        ['CHR-014', 1],
        ['MUG-001', 2],
      ],
    ],
    [
      'CA',
      [
        ['MUG-001', 1],
        ['TEE-002', 1],
        ['NTB-009', 5],
      ],
    ],
    ['CA', [['BAG-004', 1]]],
    ['TX', [['TEE-002', 2]]],
    [
      'TX',
      [
        ['MUG-001', 1],
        ['TEE-002', 1],
      ],
    ],
    ['NY', [['LMP-006', 1]]],
    ['WY', [['KNF-008', 4]]],
  ]
  for (const [state, items] of orders) {
    const result = await placeOrder(t.app.db, {
      items: items.map(([sku, quantity]) => ({ sku, quantity })),
      customer: { ...customer, state },
      idempotencyKey: randomUUID(),
    })
    expect(result.kind).toBe('placed')
  }
  while ((await foldSales(t.app.db)) > 0) {}
  const clerk = await addStaff(t.app, 'clerk@example.com')
  bearer = { authorization: `Bearer ${await addToken(t.app, clerk)}` }
  staffPage = { ...html, cookie: (await signIn(t.app, 'clerk@example.com')).cookie }
})
afterAll(() => t?.close())

describe('the insights aggregates', () => {
  it('count orders, units and revenue exactly like a GROUP BY, multi-line orders too', async () => {
    const truth = await groupByOrderLines(t.app.db)
    expect(await aggregates(t.app.db)).toEqual(truth)
    // Three-line and two-line orders count once per state, not once per line.
    expect(truth.byState.CA).toEqual({ orders: 4, units: 14, revenueCents: 62_800 })
  })
})

describe('GET /api/admin/insights', () => {
  it('gives every state with its orders and best seller, and the national top three', async () => {
    const res = await t.app.inject({ url: '/api/admin/insights', headers: bearer })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.states).toHaveLength(51)
    expect(body.states.map((s: { state: string }) => s.state)).toEqual(stateCodes)
    expect(body).toMatchObject({
      orders: 8,
      units: 23,
      revenueCents: 62_800 + 10_500 + 4_900 + 27_600,
    })
    const ca = body.states.find((s: { state: string }) => s.state === 'CA')
    expect(ca).toEqual({
      state: 'CA',
      name: 'California',
      orders: 4,
      units: 14,
      revenueCents: 62_800,
      topProduct: { sku: 'NTB-009', name: 'Field Notebook', units: 5 },
    })
    const vt = body.states.find((s: { state: string }) => s.state === 'VT')
    expect(vt).toMatchObject({ orders: 0, units: 0, revenueCents: 0, topProduct: null })
    // Units nationwide: NTB 5, CHR 4, KNF 4, MUG 4, TEE 4 -> ties broken by catalogue order.
    expect(body.national.map((p: { sku: string; units: number }) => [p.sku, p.units])).toEqual([
      ['NTB-009', 5],
      ['MUG-001', 4],
      ['TEE-002', 4],
    ])
  })
})

describe('GET /api/admin/insights/:state', () => {
  it("gives the state's products by units and revenue, and the national top three there", async () => {
    const res = await t.app.inject({ url: '/api/admin/insights/TX', headers: bearer })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      state: 'TX',
      name: 'Texas',
      orders: 2,
      units: 4,
      revenueCents: 2 * 2900 + 1800 + 2900,
      products: [
        { sku: 'TEE-002', name: 'Organic Cotton Tee', units: 3, orders: 2, revenueCents: 8700 },
        { sku: 'MUG-001', name: 'Enamel Camp Mug', units: 1, orders: 1, revenueCents: 1800 },
      ],
      national: [
        {
          sku: 'NTB-009',
          name: 'Field Notebook',
          nationalRank: 1,
          nationalUnits: 5,
          unitsInState: 0,
          rankInState: null,
        },
        {
          sku: 'MUG-001',
          name: 'Enamel Camp Mug',
          nationalRank: 2,
          nationalUnits: 4,
          unitsInState: 1,
          rankInState: 2,
        },
        {
          sku: 'TEE-002',
          name: 'Organic Cotton Tee',
          nationalRank: 3,
          nationalUnits: 4,
          unitsInState: 3,
          rankInState: 1,
        },
      ],
    })
  })

  it('answers 400 for a state that does not exist', async () => {
    const res = await t.app.inject('/api/insights/ZZ')
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('must be one of the 50 states or DC')
  })
})

/** Whether a JSON answer or a page holds order counts or money anywhere. */
function ordersOrRevenue(text: string): string[] {
  const found = [
    ...text.matchAll(/"orders"|"revenueCents"|\$[0-9]|[0-9] orders?\b|in sales|Orders<\/th>/g),
  ]
  return found.map((m) => m[0])
}

describe('GET /api/insights (public)', () => {
  it('gives items sold per state and the best sellers, never orders or revenue', async () => {
    const res = await t.app.inject('/api/insights')
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(ordersOrRevenue(res.body)).toEqual([])
    expect(Object.keys(body).sort()).toEqual(['national', 'states', 'units'])
    expect(body.units).toBe(23)
    expect(body.states.map((s: { state: string }) => s.state)).toEqual(stateCodes)
    expect(body.states.find((s: { state: string }) => s.state === 'CA')).toEqual({
      state: 'CA',
      name: 'California',
      units: 14,
      topProduct: { sku: 'NTB-009', name: 'Field Notebook', units: 5 },
    })
    expect(body.national).toEqual([
      { sku: 'NTB-009', name: 'Field Notebook', units: 5 },
      { sku: 'MUG-001', name: 'Enamel Camp Mug', units: 4 },
      { sku: 'TEE-002', name: 'Organic Cotton Tee', units: 4 },
    ])
  })

  it("gives a state's products by items sold, never orders or revenue", async () => {
    const res = await t.app.inject('/api/insights/tx')
    expect(res.statusCode).toBe(200)
    expect(ordersOrRevenue(res.body)).toEqual([])
    const admin = (await t.app.inject({ url: '/api/admin/insights/TX', headers: bearer })).json()
    expect(res.json()).toEqual({
      state: 'TX',
      name: 'Texas',
      units: 4,
      products: [
        { sku: 'TEE-002', name: 'Organic Cotton Tee', units: 3 },
        { sku: 'MUG-001', name: 'Enamel Camp Mug', units: 1 },
      ],
      national: admin.national,
    })
  })

  it('the staff twins answer 401 without a token', async () => {
    for (const url of ['/api/admin/insights', '/api/admin/insights/TX']) {
      const res = await t.app.inject(url)
      expect(res.statusCode).toBe(401)
      expect(ordersOrRevenue(res.body)).toEqual([])
    }
  })
})

describe('GET /insights (public)', () => {
  it('is cacheable for a second by a shared cache, as a page and as JSON alike (top products too)', async () => {
    const urls = ['/insights', '/insights/CA', '/api/insights', '/api/insights/CA']
    for (const url of [...urls, '/api/states/CA/top-products']) {
      const res = await t.app.inject({ url, headers: html })
      expect(res.statusCode, url).toBe(200)
      expect(res.headers['cache-control'], url).toBe('public, max-age=1')
    }
    // The staff's figures never are.
    const staff = await t.app.inject({ url: '/api/admin/insights' })
    expect(staff.headers['cache-control']).toBe('no-store')
  })

  it('shades the map by items sold, with titles, a legend and a table; no orders or revenue', async () => {
    const res = await t.app.inject({ url: '/insights', headers: html })
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('public, max-age=1')
    expect(ordersOrRevenue(res.body)).toEqual([])
    const paths = [
      ...res.body.matchAll(
        /<path class="state (map-c\d)" data-state="([A-Z]{2})" d="M[^"]+"><title>([^<]+)<\/title>/g,
      ),
    ]
    expect(paths).toHaveLength(stateCodes.length)
    const shade = Object.fromEntries(paths.map((p) => [p[2], p[1]]))
    const title = Object.fromEntries(paths.map((p) => [p[2], p[3]]))
    expect(shade.CA).toBe('map-c5')
    expect(shade.VT).toBe('map-c0')
    expect(title.CA).toBe('California: 14 items, best seller: Field Notebook')
    expect(title.NY).toBe('New York: 1 item, best seller: Lantern')
    expect(title.VT).toBe('Vermont: 0 items, no best seller yet')
    expect(res.body).toContain('<a href="/insights/CA" aria-label="California: 14 items')
    expect(res.body.slice(res.body.indexOf('class="map-legend"'))).toContain('Nothing sold yet')
    const table = res.body.slice(res.body.indexOf('<table class="insights-table">'))
    expect(table.match(/<tr><th scope="row">/g)).toHaveLength(51)
    expect(table).toMatch(
      /<a href="\/insights\/CA">California<\/a><\/th><td class="num">14<\/td><td>Field Notebook<\/td><\/tr>/,
    )
    expect(res.body).toContain('<strong>23</strong> items sold.')
  })

  it("shows a state's items sold per product and the national comparison; no orders or revenue", async () => {
    const res = await t.app.inject({ url: '/insights/CA', headers: html })
    expect(res.statusCode).toBe(200)
    expect(ordersOrRevenue(res.body)).toEqual([])
    const bars = [...res.body.matchAll(/<rect x="190" y="5" width="\d+"[^>]*><title>([^<]+)</g)]
    expect(bars.map((b) => b[1])).toEqual([
      'Field Notebook: 5 sold',
      'Camp Chair: 4 sold',
      'Enamel Camp Mug: 3 sold',
      'Organic Cotton Tee: 1 sold',
      'Rolltop Backpack: 1 sold',
    ])
    expect(res.body).toMatch(
      /Camp Chair <span class="sku">CHR-014<\/span><\/th><td class="num">4<\/td><\/tr>/,
    )
    expect(res.body).toContain('Compared with the national top three')
  })
})

describe('GET /admin/insights', () => {
  it('sends anonymous visitors to the sign-in page', async () => {
    for (const url of ['/admin/insights', '/admin/insights/CA']) {
      const res = await t.app.inject({ url, headers: html })
      expect(res.statusCode).toBe(303)
      expect(res.headers.location).toBe(`/admin/login?next=${encodeURIComponent(url)}`)
    }
  })

  it('renders the map of every state, shaded by orders, with titles, a legend and a table', async () => {
    const res = await t.app.inject({ url: '/admin/insights', headers: staffPage })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/html')
    const paths = [
      ...res.body.matchAll(
        /<path class="state (map-c\d)" data-state="([A-Z]{2})" d="M[^"]+"><title>([^<]+)<\/title>/g,
      ),
    ]
    expect(paths.map((p) => p[2]).sort()).toEqual([...stateCodes].sort())
    const shade = Object.fromEntries(paths.map((p) => [p[2], p[1]]))
    const title = Object.fromEntries(paths.map((p) => [p[2], p[3]]))
    expect(shade.VT).toBe('map-c0')
    // CA has the most orders: the darkest class; every state with orders is shaded.
    expect(shade.CA).toBe('map-c5')
    for (const s of ['TX', 'NY', 'WY']) expect(shade[s]).not.toBe('map-c0')
    expect(title.CA).toBe('California: 4 orders, best seller: Field Notebook')
    expect(title.WY).toBe('Wyoming: 1 order, best seller: Folding Knife')
    expect(title.VT).toBe('Vermont: 0 orders, no best seller yet')
    expect(res.body).toContain('<a href="/admin/insights/CA" aria-label="California: 4 orders')
    // The legend names each class in use.
    const legend = res.body.slice(res.body.indexOf('class="map-legend"'))
    expect(legend).toContain('No orders yet')
    expect(legend).toContain('4 orders')
    // The accessible table: a row per state with the same numbers, and no inline styles.
    const table = res.body.slice(res.body.indexOf('<table class="insights-table">'))
    expect(table.match(/<tr><th scope="row">/g)).toHaveLength(51)
    expect(table).toMatch(
      /<a href="\/admin\/insights\/CA">California<\/a><\/th><td class="num">4<\/td><td class="num">14<\/td><td class="num">\$628\.00<\/td><td>Field Notebook<\/td>/,
    )
    expect(res.body).not.toMatch(/style=/)
    expect(res.body).not.toContain('<script')
  })
})

describe('GET /admin/insights/:state', () => {
  it('renders a bar per product, the table with units and revenue, and the national comparison', async () => {
    const res = await t.app.inject({ url: '/admin/insights/CA', headers: staffPage })
    expect(res.statusCode).toBe(200)
    expect(res.body).toContain('<h1>California</h1>')
    const bars = [
      ...res.body.matchAll(/<rect x="190" y="5" width="(\d+)"[^>]*><title>([^<]+)<\/title>/g),
    ]
    expect(bars.map((b) => b[2])).toEqual([
      'Field Notebook: 5 sold, $60.00',
      'Camp Chair: 4 sold, $356.00',
      'Enamel Camp Mug: 3 sold, $54.00',
      'Organic Cotton Tee: 1 sold, $29.00',
      'Rolltop Backpack: 1 sold, $129.00',
    ])
    // Longest bar for the best seller, lengths by units.
    expect(bars.map((b) => Number(b[1]))).toEqual([360, 288, 216, 72, 72])
    expect(res.body).toMatch(
      /Camp Chair <span class="sku">CHR-014<\/span><\/th><td class="num">4<\/td><td class="num">2<\/td><td class="num">\$356\.00<\/td>/,
    )
    const compare = res.body.slice(res.body.indexOf('Compared with the national top three'))
    expect(compare).toMatch(
      /#1<\/td><th scope="row">Field Notebook<\/th><td class="num">5<\/td><td class="num">5<\/td><td class="num">#1<\/td>/,
    )
  })

  it("is the staff's: no-store, and a link back to the back office", async () => {
    const res = await t.app.inject({ url: '/admin/insights/CA', headers: staffPage })
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.body).toContain('<a href="/admin/insights">All states</a>')
    const lower = await t.app.inject({ url: '/admin/insights/ca', headers: staffPage })
    expect(lower.statusCode).toBe(301)
    expect(lower.headers.location).toBe('/admin/insights/CA')
  })
})

describe('GET /insights/:state (public)', () => {
  it('says so for a state without sales, redirects lower case, and 404s an unknown state', async () => {
    const vt = await t.app.inject({ url: '/insights/VT', headers: html })
    expect(vt.statusCode).toBe(200)
    expect(vt.body).toContain('No sales counted in Vermont yet.')
    const lower = await t.app.inject({ url: '/insights/ca', headers: html })
    expect(lower.statusCode).toBe(301)
    expect(lower.headers.location).toBe('/insights/CA')
    const unknown = await t.app.inject({ url: '/insights/ZZ', headers: html })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.headers['content-type']).toContain('text/html')
    expect(unknown.body).toContain('There is no US state with the code ZZ.')
  })

  it('escapes product names on both pages', async () => {
    await t.app.db
      .updateTable('products')
      .set({ name: '<img src=x onerror=alert(1)> & "Co"' })
      .where('sku', '=', 'NTB-009')
      .execute()
    for (const url of ['/insights', '/insights/CA', '/admin/insights', '/admin/insights/CA']) {
      const res = await t.app.inject({ url, headers: staffPage })
      expect(res.statusCode).toBe(200)
      expect(res.body).not.toContain('<img src=x')
      expect(res.body).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;Co&quot;')
    }
  })
})

// The pages must not read orders at all, however many there are: with the order tables locked
// by another session, anything that touched them would wait.
describe.skipIf(!usingPostgres)('the insights reads at any scale (PostgreSQL only)', () => {
  it('never touch orders or order lines', async () => {
    const locker = new pg.Client({ connectionString: t.config.DATABASE_URL })
    await locker.connect()
    try {
      await locker.query('begin')
      await locker.query('lock table orders, order_lines in access exclusive mode')
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('an insights read waited for the orders lock')), 3000),
      )
      const urls = ['/insights', '/insights/CA', '/api/insights', '/api/insights/TX']
      const staffUrls = ['/admin/insights', '/admin/insights/CA', '/api/admin/insights']
      for (const url of [...urls, ...staffUrls, '/api/admin/insights/TX']) {
        const headers = url.startsWith('/api/admin') ? bearer : staffPage
        const res = await Promise.race([t.app.inject({ url, headers }), timeout])
        expect(res.statusCode).toBe(200)
      }
    } finally {
      await locker.query('rollback')
      await locker.end()
    }
  })
})
