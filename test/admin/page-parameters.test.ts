import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { damagedLink, encodeCursor } from '../../src/admin/cursor.ts'
import { encodeDeliveryCursor } from '../../src/webhooks/delivery-pages.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { signedInAdmin } from '../helpers/staff.ts'
import { insertDelivery } from '../webhooks/endpoint-helpers.ts'
import { insertOrders } from './seed.ts'

/**
 * One rule for the page parameters of every paginated list (src/admin/page-query.ts): the order
 * list (`GET /api/admin/orders`, `GET /admin/orders`) and an endpoint's deliveries
 * (`GET /api/admin/webhooks/:id/deliveries`, `GET /admin/webhooks/:id`).
 * - A blank value (empty or white space only), alone or beside another one, is not given: the
 *   first page, the default size.
 * - A cursor is read as sent and must be one of this list: a malformed one, one padded with
 *   spaces, one longer than any cursor is (200 characters), one of the other list or of another
 *   endpoint's deliveries is 400 naming `cursor`, with the damaged-link sentence. A well-formed
 *   one of this list that no answer handed out is a position like any other (keyset): the page
 *   after it. A blank one is not given however long it is.
 * - `limit` (the deliveries' API) is decimal digits, leading zeros allowed (`01` is 1), from 1 to
 *   50; anything else is 400 "limit must be a whole number from 1 to 50".
 * A list without `limit` keeps its rule for a parameter it does not take: the JSON order list
 * refuses it by name (blank too), the pages ignore it.
 */

let t: TestApp
let authorization: string
let cookie: string
let endpoint: number
/** Each list's own cursor and the page it leads to, and a cursor of the other list. */
let orderCursor: string
let deliveryCursor: string
/** A cursor of another endpoint's deliveries, as its list handed it out. */
let otherEndpointCursor: string
/** The orders, newest first, as the table holds them; the deliveries likewise. */
let orderNumbers: string[]
let deliveryIds: string[]

beforeAll(async () => {
  t = await buildTestApp({ WEBHOOKS_ALLOW_LOCAL: 'true' }, { webhookDispatcher: false })
  const admin = await signedInAdmin(t.app, 'pages@example.com')
  authorization = `Bearer ${admin.token}`
  cookie = admin.session.cookie
  const created = await t.app.inject({
    method: 'POST',
    url: '/api/admin/webhooks',
    headers: { authorization },
    payload: { url: 'http://127.0.0.1:9/pages', eventTypes: ['order.placed'] },
  })
  endpoint = created.json().id
  const other = await t.app.inject({
    method: 'POST',
    url: '/api/admin/webhooks',
    headers: { authorization },
    payload: { url: 'http://127.0.0.1:9/other', eventTypes: ['order.placed'] },
  })
  const otherEndpoint: number = other.json().id
  // 3 deliveries (each with an order of its own), 2 of another endpoint, then 60 orders: two
  // pages of orders.
  for (let i = 0; i < 3; i++) {
    await insertDelivery(t.app.db, endpoint, { status: 'delivered', attempts: 1 })
  }
  for (let i = 0; i < 2; i++) {
    await insertDelivery(t.app.db, otherEndpoint, { status: 'delivered', attempts: 1 })
  }
  await insertOrders(t.app.db, 60, { start: new Date('2026-05-01T00:00:00Z') })
  const rows = await t.app.db
    .selectFrom('orders')
    .select('order_number')
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute()
  orderNumbers = rows.map((r) => r.order_number)
  const deliveries = await t.app.db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('endpoint_id', '=', endpoint)
    .orderBy('id', 'desc')
    .execute()
  deliveryIds = deliveries.map((d) => String(d.id))
  const first = await t.app.inject({ url: '/api/admin/orders', headers: { authorization } })
  orderCursor = first.json().nextCursor
  // The cursors each deliveries list hands out: its Link after the first delivery.
  const nextCursor = async (id: number) => {
    const res = await t.app.inject({
      url: `/api/admin/webhooks/${id}/deliveries?limit=1`,
      headers: { authorization },
    })
    return new URL(
      String(res.headers.link).slice(1, -'>; rel="next"'.length),
      'http://x',
    ).searchParams.get('cursor') as string
  }
  deliveryCursor = await nextCursor(endpoint)
  otherEndpointCursor = await nextCursor(otherEndpoint)
})
afterAll(() => t?.close())

/** What a list does with `limit`: reads it (the rule), refuses it by name, or ignores it. */
type LimitUse = 'reads' | 'unknown' | 'ignores'

interface List {
  name: string
  url: () => string
  json: boolean
  limit: LimitUse
  /** What the answer lists, in order: order numbers or delivery ids. */
  items: (res: LightMyRequestResponse) => string[]
  /** Everything the list holds, newest first, and its default page size. */
  all: () => string[]
  pageSize: number
  own: () => string
  foreign: () => string
  /** A cursor of another list of the same kind, if any: another endpoint's deliveries. */
  sibling: () => string
  /** A well-formed cursor of this list that no answer handed out: newer than every row. */
  invented: () => string
  /** What this list's own cursor leads to. */
  after: () => string[]
  /** Where a refused page link leads back to (the pages): the list's first page. */
  restart?: () => string
}

const orderLinks = (res: LightMyRequestResponse) =>
  [...res.body.matchAll(/href="\/admin\/orders\/([^"/]+)"/g)].map((m) => m[1] as string)
const deliveryRows = (res: LightMyRequestResponse) =>
  [...res.body.matchAll(/id="delivery-(\d+)"/g)].map((m) => m[1] as string)

const orderList = {
  all: () => orderNumbers,
  pageSize: 50,
  own: () => orderCursor,
  foreign: () => deliveryCursor,
  sibling: () => otherEndpointCursor,
  invented: () => encodeCursor({ createdAt: '2999-01-01T00:00:00.000000Z', id: '1' }),
  after: () => orderNumbers.slice(50, 100),
}
const deliveryList = {
  all: () => deliveryIds,
  pageSize: 50,
  own: () => deliveryCursor,
  foreign: () => orderCursor,
  sibling: () => otherEndpointCursor,
  invented: () => encodeDeliveryCursor(endpoint, '9223372036854775807'),
  after: () => deliveryIds.slice(1),
}

const lists: List[] = [
  {
    name: 'GET /api/admin/orders',
    url: () => '/api/admin/orders',
    json: true,
    limit: 'unknown',
    items: (res) => res.json().orders.map((o: { orderNumber: string }) => o.orderNumber),
    ...orderList,
  },
  {
    name: 'GET /admin/orders (page)',
    url: () => '/admin/orders',
    json: false,
    limit: 'ignores',
    items: orderLinks,
    ...orderList,
  },
  {
    name: 'GET /api/admin/webhooks/:id/deliveries',
    url: () => `/api/admin/webhooks/${endpoint}/deliveries`,
    json: true,
    limit: 'reads',
    items: (res) => res.json().map((d: { id: string }) => d.id),
    ...deliveryList,
  },
  {
    name: 'GET /admin/webhooks/:id (page)',
    url: () => `/admin/webhooks/${endpoint}`,
    json: false,
    limit: 'ignores',
    items: deliveryRows,
    ...deliveryList,
    restart: () => `/admin/webhooks/${endpoint}`,
  },
]

/** What an answer must be: a page (the first, the first n, or after the own cursor), or a 400. */
type Outcome =
  | { page: 'first' }
  | { page: 'after' }
  | { page: number }
  | { refused: 'cursor' | 'before' | 'limit' }
  | { unknown: 'limit' }

const first: Outcome = { page: 'first' }
const after: Outcome = { page: 'after' }
const badCursor: Outcome = { refused: 'cursor' }

/**
 * `{own}` and `{foreign}` stand for the list's own cursor and the other list's, `{sibling}` for
 * another endpoint's deliveries' cursor, `{invented}` for a well-formed one nobody handed out.
 */
const cursorRows: [string, Outcome][] = [
  ['cursor=', first],
  ['cursor=%20', first],
  ['cursor=%20%20%09', first],
  // Blank however long: past either list's former maxLength (100 and 1000).
  [`cursor=${'%20'.repeat(101)}`, first],
  [`cursor=${'%20'.repeat(1001)}`, first],
  [`cursor=${'%20'.repeat(4000)}`, first],
  [`cursor={own}&cursor=${'%20'.repeat(1001)}`, after],
  ['cursor=garbage!', badCursor],
  ['cursor=not-a-cursor', badCursor],
  ['cursor=%7B%22a%22%3A1%7D', badCursor],
  // Longer than any cursor (200 characters): the rule's sentence, not a schema's length.
  [`cursor=${'A'.repeat(101)}`, badCursor],
  [`cursor=${'A'.repeat(201)}`, badCursor],
  [`cursor=${'A'.repeat(1001)}`, badCursor],
  [`cursor={own}${'A'.repeat(1001)}`, badCursor],
  ['cursor={foreign}', badCursor],
  ['cursor={sibling}', badCursor],
  ['cursor=%20{own}', badCursor],
  ['cursor={own}%20', badCursor],
  ['cursor={own}', after],
  ['cursor={invented}', first],
  ['cursor=&cursor={own}', after],
  ['cursor={own}&cursor=%20', after],
]

/** The value of `limit` and what a list that reads it answers. */
const limitRows: [string, Outcome][] = [
  ['limit=', first],
  ['limit=%20', first],
  ['limit=01', { page: 1 }],
  ['limit=1', { page: 1 }],
  ['limit=002', { page: 2 }],
  ['limit=50', first],
  ['limit=050', first],
  ['limit=2&limit=', { page: 2 }],
  ['limit=&limit=02', { page: 2 }],
  ['limit=0', { refused: 'limit' }],
  ['limit=00', { refused: 'limit' }],
  ['limit=51', { refused: 'limit' }],
  ['limit=1.0', { refused: 'limit' }],
  ['limit=+5', { refused: 'limit' }],
  ['limit=%2B5', { refused: 'limit' }],
  ['limit=-1', { refused: 'limit' }],
  ['limit=1e1', { refused: 'limit' }],
  ['limit=0x10', { refused: 'limit' }],
  ['limit=%205', { refused: 'limit' }],
  ['limit=abc', { refused: 'limit' }],
  ['limit=%EF%BC%95', { refused: 'limit' }],
  ['limit=99999999999999999999', { refused: 'limit' }],
]

/** The `limit` rows as a list that does not read `limit` answers them. */
const limitOutcome = (use: LimitUse, outcome: Outcome): Outcome =>
  use === 'reads' ? outcome : use === 'unknown' ? { unknown: 'limit' } : first

const cases = lists.flatMap((list) => [
  ...cursorRows.map(([query, outcome]) => ({ list, query, outcome })),
  ...limitRows.map(([query, outcome]) => ({
    list,
    query,
    outcome: limitOutcome(list.limit, outcome),
  })),
])

// The order list's page also takes `before` ("Previous page"), by the same rule.
const orderPage = lists[1] as List
cases.push(
  { list: orderPage, query: 'before=', outcome: first },
  { list: orderPage, query: 'before=%20', outcome: first },
  { list: orderPage, query: 'before=garbage!', outcome: { refused: 'before' } },
  { list: orderPage, query: 'before={foreign}', outcome: { refused: 'before' } },
  { list: orderPage, query: 'before={sibling}', outcome: { refused: 'before' } },
  { list: orderPage, query: 'before=%20{own}', outcome: { refused: 'before' } },
  { list: orderPage, query: `before=${'%20'.repeat(1001)}`, outcome: first },
  { list: orderPage, query: `before=${'A'.repeat(1001)}`, outcome: { refused: 'before' } },
  { list: orderPage, query: 'before=&cursor={own}', outcome: after },
)

const describeOutcome = (o: Outcome) =>
  'page' in o
    ? typeof o.page === 'number'
      ? `200, the first ${o.page}`
      : o.page === 'first'
        ? '200, the first page'
        : '200, the page after the cursor'
    : 'refused' in o
      ? `400 naming ${o.refused}`
      : `400, ${o.unknown} unknown`

/** A query as a test's name: long runs of one character counted, not written out. */
const shown = (query: string) =>
  query.replace(/(%20|A)\1{9,}/g, (run, unit: string) => `${unit}×${run.length / unit.length}`)

describe('the page parameters of every paginated list: one rule', () => {
  it.for(cases.map((c) => [c.list.name, shown(c.query), describeOutcome(c.outcome), c] as const))(
    '%s ?%s: %s',
    async ([, , , { list, query, outcome }]) => {
      const sent = query
        .replaceAll('{own}', list.own())
        .replaceAll('{foreign}', list.foreign())
        .replaceAll('{sibling}', list.sibling())
        .replaceAll('{invented}', list.invented())
      const res = await t.app.inject({
        url: `${list.url()}?${sent}`,
        headers: list.json ? { authorization } : { cookie, accept: 'text/html' },
      })
      if ('page' in outcome) {
        expect(res.statusCode, res.body.slice(0, 300)).toBe(200)
        const all = list.all()
        const expected =
          outcome.page === 'first'
            ? all.slice(0, list.pageSize)
            : outcome.page === 'after'
              ? list.after()
              : all.slice(0, outcome.page)
        expect(list.items(res)).toEqual(expected)
        if (list.limit === 'reads' && typeof outcome.page === 'number') {
          // The next page's link keeps the size, written plainly (`01` is `1`).
          expect(res.headers.link).toMatch(
            new RegExp(`\\?limit=${outcome.page}&cursor=[\\w-]+>; rel="next"$`),
          )
        }
        return
      }
      expect(res.statusCode, res.body.slice(0, 300)).toBe(400)
      if (!list.json) {
        expect(res.body).toContain(damagedLink)
        // "Start again from the first page": a link to it, not only to the section's list.
        if (list.restart) expect(res.body).toContain(`href="${list.restart()}"`)
        return
      }
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
      const body = res.json()
      expect(body.type).toBe('tag:order-service.example,2026:problems/validation')
      if ('unknown' in outcome) {
        expect(body.message).toBe(`querystring has an unknown field "${outcome.unknown}"`)
        expect(body.errors).toEqual([{ parameter: outcome.unknown, detail: expect.any(String) }])
      } else if (outcome.refused === 'limit') {
        expect(body.message).toBe('limit must be a whole number from 1 to 50')
        expect(body.errors).toEqual([
          { parameter: 'limit', detail: 'must be a whole number from 1 to 50' },
        ])
      } else {
        expect(body.message).toBe(damagedLink)
        expect(body.errors).toEqual([{ parameter: outcome.refused, detail: damagedLink }])
      }
    },
  )
})
