import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { damagedLink } from '../../src/admin/cursor.ts'
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
 * - A cursor is read as sent and must be one this list made: a malformed one, one padded with
 *   spaces or one of the other list is 400 naming `cursor`, with the damaged-link sentence.
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
  // 3 deliveries (each with an order of its own), then 60 orders: two pages of orders.
  for (let i = 0; i < 3; i++) {
    await insertDelivery(t.app.db, endpoint, { status: 'delivered', attempts: 1 })
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
  deliveryCursor = encodeDeliveryCursor(deliveryIds[0] as string)
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
  /** What this list's own cursor leads to. */
  after: () => string[]
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
  after: () => orderNumbers.slice(50, 100),
}
const deliveryList = {
  all: () => deliveryIds,
  pageSize: 50,
  own: () => deliveryCursor,
  foreign: () => orderCursor,
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

/** `{own}` and `{foreign}` stand for the list's own cursor and the other list's. */
const cursorRows: [string, Outcome][] = [
  ['cursor=', first],
  ['cursor=%20', first],
  ['cursor=%20%20%09', first],
  ['cursor=garbage!', badCursor],
  ['cursor=not-a-cursor', badCursor],
  ['cursor=%7B%22a%22%3A1%7D', badCursor],
  ['cursor={foreign}', badCursor],
  ['cursor=%20{own}', badCursor],
  ['cursor={own}%20', badCursor],
  ['cursor={own}', after],
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
  { list: orderPage, query: 'before=%20{own}', outcome: { refused: 'before' } },
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

describe('the page parameters of every paginated list: one rule', () => {
  it.for(cases.map((c) => [c.list.name, c.query, describeOutcome(c.outcome), c] as const))(
    '%s ?%s: %s',
    async ([, , , { list, query, outcome }]) => {
      const sent = query.replaceAll('{own}', list.own()).replaceAll('{foreign}', list.foreign())
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
