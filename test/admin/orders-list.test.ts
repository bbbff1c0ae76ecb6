import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeCursor } from '../../src/admin/cursor.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken, signIn } from '../helpers/staff.ts'
import { insertOrders, seededNumber } from './seed.ts'

let t: TestApp
let authorization: string
let cookie: string

beforeAll(async () => {
  t = await buildTestApp()
  const id = await addStaff(t.app, 'list@example.com')
  authorization = `Bearer ${await addToken(t.app, id)}`
  ;({ cookie } = await signIn(t.app, 'list@example.com'))
  // 120 orders one second apart, then 60 placed at one instant (ties broken by id).
  await insertOrders(t.app.db, 120, { start: new Date('2026-03-01T00:00:00Z') })
  await insertOrders(t.app.db, 60, {
    start: new Date('2026-03-10T12:00:00Z'),
    stepMs: 0,
    offset: 1000,
  })
})
afterAll(async () => t?.close())

interface Summary {
  orderNumber: string
  createdAt: string
  status: string
  customer: { state: string; email: string }
}
interface ListBody {
  orders: Summary[]
  nextCursor: string | null
}

const api = async (query: Record<string, string> = {}) => {
  const res = await t.app.inject({
    url: `/api/admin/orders?${new URLSearchParams(query)}`,
    headers: { authorization },
  })
  return res
}

/** Every page of the list under `query`, following nextCursor. */
async function allPages(query: Record<string, string> = {}) {
  const pages: Summary[][] = []
  let cursor: string | null = null
  do {
    const res = await api({ ...query, ...(cursor ? { cursor } : {}) })
    expect(res.statusCode, res.body).toBe(200)
    const body = res.json() as ListBody
    pages.push(body.orders)
    cursor = body.nextCursor
  } while (cursor && pages.length < 100)
  return pages
}

/** Every order's number, newest first, straight from the table (optionally filtered). */
async function expected(where: (o: Summary) => boolean = () => true) {
  const rows = await t.app.db
    .selectFrom('orders')
    .select(['order_number', 'status', 'state', 'email'])
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute()
  return rows
    .filter((r) =>
      where({
        orderNumber: r.order_number,
        createdAt: '',
        status: r.status,
        customer: { state: r.state, email: r.email },
      }),
    )
    .map((r) => r.order_number)
}

describe('GET /api/admin/orders: keyset pages', () => {
  it('gives 50 a page, newest first, every order once, without gaps, and null after the last', async () => {
    const pages = await allPages()
    expect(pages.map((p) => p.length)).toEqual([50, 50, 50, 30])
    const numbers = pages.flat().map((o) => o.orderNumber)
    expect(new Set(numbers).size).toBe(180)
    expect(numbers).toEqual(await expected())
    // The 60 orders of one instant straddle a page boundary and come in id order, descending.
    expect(numbers.slice(0, 60)).toEqual(
      Array.from({ length: 60 }, (_, i) => seededNumber(60 - i, 1000)),
    )
  })

  it('stays put when orders are placed between two pages', async () => {
    const first = (await api()).json() as ListBody
    await insertOrders(t.app.db, 7, { start: new Date(), offset: 5000 })
    const second = (await api({ cursor: first.nextCursor as string })).json() as ListBody
    const before = [...first.orders, ...second.orders].map((o) => o.orderNumber)
    const all = await expected()
    // The new orders are newest: the old first page is now 7 rows down, and page two continues it.
    expect(before).toEqual(all.slice(7, 107))
  })

  it('answers 400, not 500, for a cursor it did not make', async () => {
    const good = ((await api()).json() as ListBody).nextCursor as string
    const tampered = [
      `${good.slice(0, -2)}xx`,
      'not-a-cursor',
      '%%%',
      Buffer.from('["2026-13-45T00:00:00.000000Z","1"]').toString('base64url'),
      Buffer.from('["2026-02-30T00:00:00.000000Z","1"]').toString('base64url'),
      // A year JavaScript has and PostgreSQL has not (no year 0): it was a 500.
      Buffer.from('["0000-01-01T00:00:00.000000Z","1"]').toString('base64url'),
      Buffer.from('["2026-03-01T00:00:00.000000Z","99999999999999999999"]').toString('base64url'),
      Buffer.from('["2026-03-01T00:00:00.000000Z",1]').toString('base64url'),
      Buffer.from('{"a":1}').toString('base64url'),
      'A'.repeat(201),
    ]
    for (const cursor of tampered) {
      const res = await api({ cursor })
      expect(res.statusCode, cursor).toBe(400)
      expect(res.json().message).toMatch(/damaged/)
    }
    const page = await t.app.inject({
      url: '/admin/orders?cursor=garbage!',
      headers: { cookie, accept: 'text/html' },
    })
    expect(page.statusCode).toBe(400)
    expect(page.body).toContain('This page link is damaged')
  })

  it('takes a cursor it made from any key', async () => {
    const cursor = encodeCursor({ createdAt: '2026-03-01T00:01:00.000000Z', id: '999999' })
    const body = (await api({ cursor })).json() as ListBody
    // Orders 1..59 of the first batch were placed before 00:01:00.
    expect(body.orders.map((o) => o.orderNumber)).toEqual(
      Array.from({ length: 50 }, (_, i) => seededNumber(60 - i)),
    )
  })
})

describe('GET /api/admin/orders: filters', () => {
  it('by status', async () => {
    const numbers = (await allPages({ status: 'shipped' })).flat()
    expect(numbers.every((o) => o.status === 'shipped')).toBe(true)
    expect(numbers.map((o) => o.orderNumber)).toEqual(await expected((o) => o.status === 'shipped'))
  })

  it('by state, in any case', async () => {
    const numbers = (await allPages({ state: ' ca ' })).flat().map((o) => o.orderNumber)
    expect(numbers.length).toBeGreaterThan(0)
    expect(numbers).toEqual(await expected((o) => o.customer.state === 'CA'))
  })

  it('by status in any case, as state is (one canonical form: placed)', async () => {
    const placed = (await allPages({ status: 'placed' })).flat().map((o) => o.orderNumber)
    expect(placed.length).toBeGreaterThan(0)
    for (const status of ['PLACED', ' Placed ']) {
      const pages = (await allPages({ status })).flat().map((o) => o.orderNumber)
      expect(pages, status).toEqual(placed)
    }
    const page = await t.app.inject({
      url: '/admin/orders?status=PLACED&state=tx',
      headers: { cookie, accept: 'text/html' },
    })
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain('<option value="placed" selected>')
    expect(page.body).toContain('href="/admin/orders.csv?status=placed&amp;state=TX"')
    const csv = await t.app.inject({
      url: '/admin/orders.csv?status=Placed',
      headers: { cookie },
    })
    expect(csv.statusCode).toBe(200)
    expect(csv.body.trim().split('\r\n')).toHaveLength(placed.length + 1)
  })

  it('by date range: UTC days, both included', async () => {
    const day = (await allPages({ from: '2026-03-10', to: '2026-03-10' })).flat()
    expect(day.map((o) => o.orderNumber)).toEqual(
      Array.from({ length: 60 }, (_, i) => seededNumber(60 - i, 1000)),
    )
    const march1 = (await allPages({ to: '2026-03-01' })).flat()
    expect(march1).toHaveLength(120)
    expect((await allPages({ from: '2026-03-11' })).flat().length).toBe(7) // the ones placed now
  })

  it('by order number as typed: lower case, without the dash', async () => {
    const n = seededNumber(42)
    const typed = n.replace('-', '').toLowerCase()
    const body = (await api({ q: ` ${typed} ` })).json() as ListBody
    expect(body.orders.map((o) => o.orderNumber)).toEqual([n])
    expect(body.nextCursor).toBeNull()
  })

  it('by e-mail: the whole address, in any case before the @ as after it', async () => {
    await t.app.db
      .updateTable('orders')
      .set({ email: 'Ada.L@example.com' })
      .where('order_number', '=', seededNumber(7))
      .execute()
    for (const q of ['Ada.L@EXAMPLE.com', 'ada.l@example.com', ' ADA.L@Example.Com ']) {
      const found = (await api({ q })).json() as ListBody
      expect(
        found.orders.map((o) => o.orderNumber),
        q,
      ).toEqual([seededNumber(7)])
      // Shown as the shopper typed it.
      expect(found.orders[0]?.customer.email).toBe('Ada.L@example.com')
    }
    // The whole address, not a part of it.
    expect(((await api({ q: 'ada.l@example.co' })).json() as ListBody).orders).toEqual([])
    expect(((await api({ q: 'da.l@example.com' })).json() as ListBody).orders).toEqual([])
    // Nothing found: the page says how the search matches.
    const none = await t.app.inject({
      url: '/admin/orders?q=ada.l%40example.co',
      headers: { cookie, accept: 'text/html' },
    })
    expect(none.body).toContain('No orders match.')
    expect(none.body).toContain('An e-mail search finds the whole address, in any case')
    // The page and the CSV alike.
    const page = await t.app.inject({
      url: '/admin/orders?q=ada.l%40example.com',
      headers: { cookie, accept: 'text/html' },
    })
    expect(page.body).toContain(`>${seededNumber(7)}</a>`)
    const csv = await t.app.inject({
      url: '/admin/orders.csv?q=ada.l%40example.com',
      headers: { cookie },
    })
    expect(csv.statusCode).toBe(200)
    expect(csv.body.trim().split('\r\n')).toHaveLength(2)
    expect(csv.body).toContain('"Ada.L@example.com"')
  })

  it('combines filters', async () => {
    const both = (await allPages({ status: 'placed', state: 'TX', to: '2026-03-01' })).flat()
    expect(both.length).toBeGreaterThan(0)
    expect(both.every((o) => o.status === 'placed' && o.customer.state === 'TX')).toBe(true)
  })

  it('refuses what is not a filter with 400 and a sentence', async () => {
    for (const [query, message] of [
      [{ status: 'lost' }, /Status must be one of/],
      [{ state: 'XX' }, /State must be one of the 50 states or DC/],
      [{ from: '2026-02-30' }, /YYYY-MM-DD/],
      [{ to: '29/11/2026' }, /YYYY-MM-DD/],
      [{ from: '2026-03-02', to: '2026-03-01' }, /comes after/],
      [{ q: 'hello' }, /order number/],
    ] as const) {
      const res = await api(query)
      expect(res.statusCode, JSON.stringify(query)).toBe(400)
      expect(res.json().message).toMatch(message)
    }
  })

  it('refuses a day the database cannot take once a day is added, naming the field', async () => {
    // to=9999-12-31 ends at +010000-01-01, which PostgreSQL refuses: it was a 500.
    for (const [query, field] of [
      [{ to: '9999-12-31' }, 'To'],
      [{ from: '9999-12-31' }, 'From'],
      [{ from: '0001-01-01' }, 'From'],
      [{ to: '1969-12-31' }, 'To'],
    ] as const) {
      const res = await api(query)
      expect(res.statusCode, JSON.stringify(query)).toBe(400)
      expect(res.json().message).toMatch(
        new RegExp(`^${field} must be a day .* 1970-01-01 to 9998-12-31`),
      )
      const page = await t.app.inject({
        url: `/admin/orders?${new URLSearchParams(query)}`,
        headers: { cookie, accept: 'text/html' },
      })
      expect(page.statusCode, JSON.stringify(query)).toBe(400)
      expect(page.body).toContain(`${field} must be a day`)
    }
    const widest = await api({ from: '1970-01-01', to: '9998-12-31' })
    expect(widest.statusCode, widest.body).toBe(200)
    expect((widest.json() as ListBody).orders).toHaveLength(50)
  })

  it('refuses a parameter it does not take (a misspelt filter, a page size), naming it, in JSON and CSV', async () => {
    for (const [name, value] of [
      ['stauts', 'cancelled'],
      ['limit', '100000'],
    ] as const) {
      const res = await api({ [name]: value })
      expect(res.statusCode, name).toBe(400)
      expect(res.json().message).toContain(`"${name}"`)
      expect(res.json().errors).toEqual([expect.objectContaining({ parameter: name })])
      const csv = await t.app.inject({
        url: `/admin/orders.csv?${name}=${value}`,
        headers: { cookie },
      })
      expect(csv.statusCode, name).toBe(400)
      expect(csv.body).toContain(name)
    }
    // The HTML page stays lenient: a link with utm_source still opens the list.
    const page = await t.app.inject({
      url: '/admin/orders?utm_source=mail',
      headers: { cookie, accept: 'text/html' },
    })
    expect(page.statusCode).toBe(200)
  })

  it('ignores blank fields, as a GET form sends them', async () => {
    const res = await api({ status: '', state: '', from: '', to: '', q: '', cursor: '' })
    expect(res.statusCode).toBe(200)
    expect((res.json() as ListBody).orders).toHaveLength(50)
  })

  it('ignores blank values of a filter given twice, in JSON, on the page and in the CSV', async () => {
    const tx = (await allPages({ state: 'TX' })).flat().map((o) => o.orderNumber)
    expect(tx.length).toBeGreaterThan(0)
    const everyOrder = (await expected()).length
    const csvRecords = async (query: string) => {
      const res = await t.app.inject({ url: `/admin/orders.csv?${query}`, headers: { cookie } })
      expect(res.statusCode, query).toBe(200)
      return res.body.trim().split('\r\n').length - 1
    }
    const page = (query: string) =>
      t.app.inject({ url: `/admin/orders?${query}`, headers: { cookie, accept: 'text/html' } })
    for (const query of ['state=tx&state=', 'state=&state=tx', 'state=%20&state=TX&state=']) {
      const res = await t.app.inject({
        url: `/api/admin/orders?${query}`,
        headers: { authorization },
      })
      expect(res.statusCode, query).toBe(200)
      expect(
        (res.json() as ListBody).orders.map((o) => o.orderNumber),
        query,
      ).toEqual(tx.slice(0, 50))
      expect(await csvRecords(query)).toBe(tx.length)
      const html = await page(query)
      expect(html.statusCode, query).toBe(200)
      expect(html.body).toContain('href="/admin/orders.csv?state=TX"')
    }
    // Every value blank: no filter.
    const none = await api()
    for (const query of ['state=&state=', 'status=&status=%20&q=&q=']) {
      const res = await t.app.inject({
        url: `/api/admin/orders?${query}`,
        headers: { authorization },
      })
      expect(res.statusCode, query).toBe(200)
      expect(res.json(), query).toEqual(none.json())
      expect(await csvRecords(query)).toBe(everyOrder)
      expect((await page(query)).statusCode, query).toBe(200)
    }
    // Two that are not blank stay a 400, whatever blanks come with them.
    for (const query of ['state=tx&state=ca', 'state=tx&state=&state=ca']) {
      const res = await t.app.inject({
        url: `/api/admin/orders?${query}`,
        headers: { authorization },
      })
      expect(res.statusCode, query).toBe(400)
      expect(res.json().detail).toBe('state must be given once')
      const csv = await t.app.inject({ url: `/admin/orders.csv?${query}`, headers: { cookie } })
      expect(csv.statusCode, query).toBe(400)
      expect((await page(query)).statusCode, query).toBe(400)
    }
    // A parameter the list does not take is still refused by name, blank or repeated.
    const unknown = await t.app.inject({
      url: '/api/admin/orders?stauts=&stauts=',
      headers: { authorization },
    })
    expect(unknown.statusCode).toBe(400)
    expect(unknown.json().detail).toContain('stauts')
  })
})

describe('/admin/orders, the page', () => {
  it('answers a parameter given twice or over-long with the page, its form and a sentence, not an error page', async () => {
    const cases: [string, string, Record<string, string>][] = [
      [
        'status=placed&status=shipped&state=TX',
        'Status was given twice: choose one.',
        { state: 'TX' },
      ],
      [
        'state=tx&state=ca&q=7K3QX-M2ZPA',
        'State was given twice: choose one.',
        { q: '7K3QX-M2ZPA' },
      ],
      [
        `q=${'a'.repeat(255)}%40example.com&status=placed`,
        'Search for an order number, like 7K3QX-M2ZPA, or an e-mail address of at most 254 characters.',
        { q: '', status: 'placed' },
      ],
      [`from=${'2'.repeat(21)}`, 'From must be a day', { from: '' }],
      [`cursor=${'A'.repeat(600)}`, 'This page link is damaged', {}],
    ]
    for (const [query, sentence, kept] of cases) {
      const res = await t.app.inject({
        url: `/admin/orders?${query}`,
        headers: { cookie, accept: 'text/html' },
      })
      expect(res.statusCode, query).toBe(400)
      expect(res.body, query).toContain('<h1 id="orders-title">Orders</h1>')
      expect(res.body, query).not.toContain('error-page')
      expect(res.body, query).toMatch(new RegExp(`role="alert">${sentence}`))
      // What the form keeps: the parameters that were not refused, as given.
      for (const [name, value] of Object.entries(kept)) {
        if (name === 'q')
          expect(res.body, query).toContain(
            `name="q" type="search" maxlength="254" value="${value}"`,
          )
        else if (name === 'from')
          expect(res.body, query).toContain(`name="from" type="date" value="${value}"`)
        else expect(res.body, query).toMatch(new RegExp(`<option value="${value}" selected>`))
      }
    }
  })

  it('lists 50 orders with links, filters kept in the next page and the CSV links', async () => {
    const res = await t.app.inject({
      url: '/admin/orders?status=placed&state=',
      headers: { cookie, accept: 'text/html' },
    })
    expect(res.statusCode).toBe(200)
    const links = [...res.body.matchAll(/href="\/admin\/orders\/([^"]+)"/g)]
    expect(links.length).toBeLessThanOrEqual(50)
    expect(links.length).toBeGreaterThan(20)
    expect(res.body).toContain('href="/admin/orders.csv?status=placed"')
    const next = /href="(\/admin\/orders\?[^"]*)" rel="next"/.exec(res.body)?.[1]
    // Under status=placed there are 36+12+2 orders, fewer than 51: no next page.
    expect(next).toBeUndefined()
    const all = await t.app.inject({
      url: '/admin/orders',
      headers: { cookie, accept: 'text/html' },
    })
    const nextAll = /href="(\/admin\/orders\?[^"]*)" rel="next"/.exec(all.body)?.[1]
    expect(nextAll).toMatch(/^\/admin\/orders\?cursor=[A-Za-z0-9_-]+$/)
    const second = await t.app.inject({
      url: (nextAll as string).replaceAll('&amp;', '&'),
      headers: { cookie, accept: 'text/html' },
    })
    expect(second.statusCode).toBe(200)
    expect(second.body).toContain('First page')
  })

  it('goes back a page at a time with "Previous page", as keyset pages: the same pages, reversed', async () => {
    /** A page of the list: its orders and its links by their text (entities decoded). */
    const open = async (url: string) => {
      const res = await t.app.inject({ url, headers: { cookie, accept: 'text/html' } })
      expect(res.statusCode, url).toBe(200)
      const link = (text: string) =>
        new RegExp(`<a href="([^"]*)"[^>]*>${text}</a>`)
          .exec(res.body)?.[1]
          ?.replaceAll('&amp;', '&')
      return {
        orders: [...res.body.matchAll(/class="order-number" href="\/admin\/orders\/([^"]+)"/g)].map(
          (m) => m[1],
        ),
        first: link('First page'),
        previous: link('Previous page'),
        next: link('Next page'),
      }
    }
    const forward = [await open('/admin/orders')]
    expect(forward[0]?.previous).toBeUndefined()
    expect(forward[0]?.first).toBeUndefined()
    for (let p = forward[0]; p?.next; ) {
      p = await open(p.next)
      forward.push(p)
    }
    // 180 seeded orders (60 of them at one instant) and a few other tests': 50, 50, 50, the rest.
    expect(forward).toHaveLength(4)
    expect(forward.slice(0, 3).map((p) => p.orders.length)).toEqual([50, 50, 50])
    expect(forward.slice(1).every((p) => p.previous && p.first === '/admin/orders')).toBe(true)
    const backward = [forward.at(-1) as (typeof forward)[number]]
    for (let p = backward[0]; p?.previous; ) {
      p = await open(p.previous)
      backward.push(p)
    }
    expect(backward.map((p) => p.orders)).toEqual(forward.map((p) => p.orders).reverse())
    // Back at the top: the first page, with no way further back.
    const top = backward.at(-1)
    expect(top?.previous).toBeUndefined()
    expect(top?.first).toBeUndefined()
    // A page reached backwards leads forward to the page it came from.
    const third = backward[1]
    expect(third?.orders).toEqual(forward[2]?.orders)
    expect((await open(third?.next as string)).orders).toEqual(forward[3]?.orders)
    // Filters stay in the links.
    const texas = await open('/admin/orders?state=tx')
    expect(texas.next).toBeUndefined()
    const page2 = await open('/admin/orders?status=&state=')
    expect(page2.next).toMatch(/^\/admin\/orders\?cursor=/)
    const cursor = new URL(forward[0]?.next as string, 'http://x').searchParams.get('cursor')
    const filtered = await open(`/admin/orders?state=TX&cursor=${cursor}`)
    expect(filtered.orders.length).toBeGreaterThan(0)
    expect(filtered.previous).toMatch(/^\/admin\/orders\?state=TX&before=/)
  })

  it('refuses a damaged "Previous page" link, or one with a cursor too (400); the API pages forward only', async () => {
    const next = ((await api()).json() as ListBody).nextCursor as string
    for (const query of ['before=garbage!', `before=${next}&cursor=${next}`]) {
      const res = await t.app.inject({
        url: `/admin/orders?${query}`,
        headers: { cookie, accept: 'text/html' },
      })
      expect(res.statusCode, query).toBe(400)
      expect(res.body).toContain('This page link is damaged')
    }
    const res = await api({ before: next })
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain('before')
  })

  it('shows a refused filter with its reason, the form kept', async () => {
    const res = await t.app.inject({
      url: '/admin/orders?from=yesterday&q=%3Cb%3E',
      headers: { cookie, accept: 'text/html' },
    })
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain('YYYY-MM-DD')
    expect(res.body).toContain('value="yesterday"')
    expect(res.body).not.toContain('<b>')
  })

  it('links no CSV under a refused filter (it would be the same 400), but does under a bad cursor', async () => {
    for (const query of ['status=bogus', 'state=ZZ', 'from=2026-02-30', 'q=nothing']) {
      const res = await t.app.inject({
        url: `/admin/orders?${query}`,
        headers: { cookie, accept: 'text/html' },
      })
      expect(res.statusCode, query).toBe(400)
      expect(res.body, query).not.toContain('orders.csv')
      expect(res.body, query).not.toContain('Download CSV')
    }
    const cursor = await t.app.inject({
      url: '/admin/orders?status=placed&cursor=garbage!',
      headers: { cookie, accept: 'text/html' },
    })
    expect(cursor.statusCode).toBe(400)
    expect(cursor.body).toContain('href="/admin/orders.csv?status=placed"')
    const csv = await t.app.inject({
      url: '/admin/orders.csv?status=placed',
      headers: { cookie, accept: 'text/html' },
    })
    expect(csv.statusCode).toBe(200)
  })
})

describe('who may see the list', () => {
  it('sends anonymous pages to the sign-in and answers the API 401', async () => {
    for (const url of ['/admin/orders', '/admin/orders.csv', '/admin/orders/ZZZZZ-ZZZZZ']) {
      const res = await t.app.inject({ url, headers: { accept: 'text/html' } })
      expect(res.statusCode, url).toBe(303)
      expect(res.headers.location).toBe(`/admin/login?next=${encodeURIComponent(url)}`)
    }
    const api = await t.app.inject({ url: '/api/admin/orders' })
    expect(api.statusCode).toBe(401)
    const cookieOnApi = await t.app.inject({ url: '/api/admin/orders', headers: { cookie } })
    expect(cookieOnApi.statusCode).toBe(401)
  })

  it('is in the OpenAPI document with the staffToken scheme', async () => {
    const spec = (await t.app.inject('/openapi.json')).json()
    const op = spec.paths['/api/admin/orders']?.get
    expect(op.security).toEqual([{ staffToken: [] }])
    expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
      ['cursor', 'from', 'q', 'state', 'status', 'to'].sort(),
    )
    expect(op.responses['200'].content['application/json'].schema.properties).toHaveProperty(
      'nextCursor',
    )
  })
})
