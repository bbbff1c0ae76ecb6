import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../src/app.ts'
import { changeOrderStatus } from '../../src/lifecycle/change-order-status.ts'
import { type OrderStatus, statuses, transitions } from '../../src/lifecycle/transitions.ts'
import { buildTestApp, stock, type TestApp } from '../helpers/context.ts'
import { lifecycleApi, pathTo, placeOrder, shipping } from '../helpers/lifecycle.ts'
import { brokenInvariants } from '../helpers/reliability.ts'
import { addStaff, addToken, form, formHeaders, signIn } from '../helpers/staff.ts'

let t: TestApp
let app: App
let api: ReturnType<typeof lifecycleApi>
let clerkId: number
const stocks = stock(() => app.db)

beforeAll(async () => {
  t = await buildTestApp({ RATE_LIMIT_MAX: '0' })
  app = t.app
  clerkId = await addStaff(app, 'clerk@example.com')
  api = lifecycleApi(app, await addToken(app, clerkId))
})
afterAll(() => t?.close())

/** A new one-line order moved to `status` along the table's path. */
async function orderIn(status: OrderStatus, items = [{ sku: 'MUG-001', quantity: 2 }]) {
  const n = await placeOrder(app, items)
  for (const to of pathTo[status]) await api.move(n, to)
  return n
}

const allowed = statuses.flatMap((from) =>
  (transitions[from] as readonly OrderStatus[]).map((to) => ({ from, to })),
)
const refused = statuses.flatMap((from) =>
  statuses
    .filter((to) => to !== 'placed' && !(transitions[from] as readonly string[]).includes(to))
    .map((to) => ({ from, to })),
)

describe('the order lifecycle API', () => {
  it('shows a placed order with version 1, its ETag and an empty history', async () => {
    const n = await placeOrder(app, [{ sku: 'MUG-001', quantity: 1 }])
    const res = await api.get(n.toLowerCase().replace('-', ''))
    expect(res.statusCode).toBe(200)
    expect(res.headers.etag).toBe('"1"')
    expect(res.json()).toMatchObject({
      orderNumber: n,
      status: 'placed',
      version: 1,
      carrier: null,
      trackingNumber: null,
      history: [],
      items: [{ sku: 'MUG-001', quantity: 1 }],
      customer: { state: 'TX' },
    })
    expect((await api.get('ZZZZZ-ZZZZZ')).statusCode).toBe(404)
  })

  it.each(allowed)(
    'allows $from → $to: 200, version + 1, new ETag, a history row with who, when and the note',
    async ({ from, to }) => {
      const n = await orderIn(from)
      const before = (await api.get(n)).json()
      const started = Date.now()
      const extra = to === 'shipped' ? shipping : {}
      const res = await api.transition(
        n,
        { to, note: `  to ${to}  `, ...extra },
        `"${before.version}"`,
      )
      expect(res.statusCode, res.body).toBe(200)
      const order = res.json()
      expect(order.status).toBe(to)
      expect(order.version).toBe(before.version + 1)
      expect(res.headers.etag).toBe(`"${before.version + 1}"`)
      expect(order.history).toHaveLength(before.history.length + 1)
      const last = order.history.at(-1)
      expect(last).toMatchObject({
        from,
        to,
        staff: { id: clerkId, email: 'clerk@example.com' },
        note: `to ${to}`,
      })
      expect(Date.parse(last.at)).toBeGreaterThanOrEqual(started - 5000)
      expect(Date.parse(last.at)).toBeLessThanOrEqual(Date.now() + 5000)
      // What GET answers afterwards is what the POST answered.
      const again = await api.get(n)
      expect(again.json()).toEqual(order)
      expect(again.headers.etag).toBe(res.headers.etag)
    },
  )

  it.each(refused)(
    'refuses $from → $to with 409 naming the current status, changing nothing',
    async ({ from, to }) => {
      const n = await orderIn(from)
      const before = (await api.get(n)).json()
      const stockBefore = await stocks.of('MUG-001')
      const extra = to === 'shipped' ? shipping : {}
      const res = await api.transition(n, { to, ...extra }, `"${before.version}"`)
      expect(res.statusCode, res.body).toBe(409)
      expect(res.json().message).toMatch(new RegExp(`^Order ${n} is (already )?${from}[;.]`))
      expect((await api.get(n)).json()).toEqual(before)
      expect(await stocks.of('MUG-001')).toBe(stockBefore)
    },
  )

  it('words the refusals for a person', async () => {
    const shipped = await orderIn('shipped')
    const res = await api.transition(shipped, { to: 'cancelled' }, await api.etag(shipped))
    expect(res.json().message).toBe(`Order ${shipped} is shipped; it can no longer be cancelled.`)
    const placed = await orderIn('placed')
    const early = await api.transition(placed, { to: 'delivered' }, '"1"')
    expect(early.json().message).toBe(
      `Order ${placed} is placed; it cannot be delivered yet (next: packed or cancelled).`,
    )
  })

  it('records carrier and tracking number when shipping, and requires both', async () => {
    const n = await orderIn('packed')
    const etag = await api.etag(n)
    for (const body of [
      { to: 'shipped' },
      { to: 'shipped', carrier: 'UPS' },
      { to: 'shipped', trackingNumber: '1Z999' },
      { to: 'shipped', carrier: '   ', trackingNumber: '1Z999' },
      { to: 'shipped', carrier: 'x'.repeat(51), trackingNumber: '1Z999' },
      { to: 'shipped', carrier: 'UPS', trackingNumber: 'x'.repeat(101) },
      { to: 'shipped', carrier: 'UPS', trackingNumber: '1Z\u0000999' },
      { to: 'shipped', carrier: 'U\u200bPS', trackingNumber: '1Z999' },
      { to: 'shipped', carrier: 'UPS', trackingNumber: 42 },
    ]) {
      const res = await api.transition(n, body as never, etag)
      expect(res.statusCode, JSON.stringify(body)).toBe(400)
      expect(res.json().message).toMatch(/carrier|trackingNumber/)
    }
    expect((await api.get(n)).json()).toMatchObject({ status: 'packed', version: 2 })

    const res = await api.transition(
      n,
      { to: 'shipped', carrier: ' DHL Express ', trackingNumber: ' JD0146000034 ' },
      etag,
    )
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ carrier: 'DHL Express', trackingNumber: 'JD0146000034' })
    // Delivery keeps them.
    const delivered = await api.move(n, 'delivered')
    expect(delivered.json()).toMatchObject({
      carrier: 'DHL Express',
      trackingNumber: 'JD0146000034',
    })
  })

  it('answers 409 with the next statuses before asking for shipping details of a change not allowed', async () => {
    const placed = await orderIn('placed')
    for (const [body, etag] of [
      [{ to: 'shipped' }, '"1"'],
      [{ to: 'shipped', carrier: 'UPS' }, '"7"'], // a stale ETag too: the status is said first
    ] as const) {
      const res = await api.transition(placed, body, etag)
      expect(res.statusCode, JSON.stringify(body)).toBe(409)
      expect(res.json().message).toBe(
        `Order ${placed} is placed; it cannot be shipped yet (next: packed or cancelled).`,
      )
    }
    const cancelled = await orderIn('cancelled')
    const packing = await api.transition(cancelled, { to: 'packed', ...shipping }, '"2"')
    expect(packing.statusCode).toBe(409)
    expect(packing.json().message).toBe(
      `Order ${cancelled} is cancelled; it can no longer be packed.`,
    )
    expect((await api.get(placed)).json()).toMatchObject({ status: 'placed', version: 1 })
    const missing = await api.transition('ZZZZZ-ZZZZZ', { to: 'shipped' }, '"1"')
    expect(missing.statusCode).toBe(404)
  })

  it('refuses shipping details on any other change, and an unknown target', async () => {
    const n = await orderIn('placed')
    const packing = await api.transition(n, { to: 'packed', ...shipping }, '"1"')
    expect(packing.statusCode).toBe(400)
    expect(packing.json().message).toMatch(/only when an order is shipped/)
    for (const to of ['placed', 'lost', '']) {
      expect((await api.transition(n, { to }, '"1"')).statusCode).toBe(400)
    }
    expect((await api.get(n)).json().version).toBe(1)
  })

  it('answers 428 without If-Match (or with *), 412 when stale, and takes the current ETag in a list', async () => {
    const n = await orderIn('placed')
    for (const ifMatch of [null, '', '*']) {
      const res = await api.transition(n, { to: 'packed' }, ifMatch)
      expect(res.statusCode, String(ifMatch)).toBe(428)
      expect(res.json().message).toMatch(/If-Match/)
    }
    // `*` was sent: the sentence says why it is not enough rather than that none came.
    expect((await api.transition(n, { to: 'packed' }, '*')).json().message).toMatch(
      /^If-Match: \* matches every version, so it guards nothing: send If-Match with the order's ETag/,
    )
    // A tag that is not ours never matches; nor does a weak one (RFC 9110 §13.1.1), which the
    // message says rather than that the order changed.
    for (const ifMatch of ['"2"', '"abc"', '"0"']) {
      const res = await api.transition(n, { to: 'packed' }, ifMatch)
      expect(res.statusCode, ifMatch).toBe(412)
      expect(res.json().message).toBe(
        `Order ${n} changed meanwhile (it is placed now); reload it and try again.`,
      )
    }
    for (const ifMatch of ['W/"1"', '"a,b", W/"1"']) {
      const res = await api.transition(n, { to: 'packed' }, ifMatch)
      expect(res.statusCode, ifMatch).toBe(412)
      expect(res.json().message).toBe(
        `If-Match never matches a weak entity tag (W/"…"; RFC 9110 §13.1.1): send the order's ETag as GET /api/admin/orders/${n} gives it, a strong tag such as If-Match: "1".`,
      )
    }
    expect((await api.get(n)).json()).toMatchObject({ status: 'placed', version: 1, history: [] })

    // Two people opened version 1; the first packs it, the second's cancel is stale.
    expect((await api.transition(n, { to: 'packed' }, '"7", "1"')).statusCode).toBe(200)
    const stale = await api.transition(n, { to: 'cancelled' }, '"1"')
    expect(stale.statusCode).toBe(412)
    expect(stale.json().message).toContain('it is packed now')
    expect((await api.get(n)).json()).toMatchObject({ status: 'packed', version: 2 })
  })

  it('answers 400 to an If-Match that is not entity-tag syntax (RFC 9110 §8.8.3), before 404', async () => {
    const n = await orderIn('placed')
    const malformed = ['junk', '1', '"1', '1"', '"1" "2"', '"1", junk', '*, "1"', 'w/"1"', ',']
    for (const ifMatch of malformed) {
      const res = await api.transition(n, { to: 'packed' }, ifMatch)
      expect(res.statusCode, ifMatch).toBe(400)
      expect(res.json().message, ifMatch).toBe(
        'If-Match must be the order\'s ETag as sent, in double quotes, such as If-Match: "1".',
      )
    }
    expect((await api.transition('ZZZZZ-ZZZZZ', { to: 'packed' }, 'junk')).statusCode).toBe(400)
    expect((await api.get(n)).json()).toMatchObject({ status: 'placed', version: 1, history: [] })
    // Well-formed lists: empty elements and spaces are allowed (§5.6.1).
    expect((await api.transition(n, { to: 'packed' }, ' , "9" ,, "1" , ')).statusCode).toBe(200)
  })

  it('answers 404 for an unknown order, whatever If-Match says', async () => {
    const res = await api.transition('ZZZZZ-ZZZZZ', { to: 'packed' }, '"1"')
    expect(res.statusCode).toBe(404)
    expect(res.json().message).toBe('There is no order ZZZZZ-ZZZZZ.')
  })

  it('echoes a number that cannot be an order number as sent, as GET /api/orders does (not XX-)', async () => {
    for (const [typed, message] of [
      ['xx', 'There is no order xx.'],
      ['7k3qx-m2zpa-extra', 'There is no order 7k3qx-m2zpa-extra.'],
      ['%20', 'There is no order with a blank number.'],
    ] as const) {
      const change = await api.transition(typed, { to: 'packed' }, '"1"')
      expect(change.statusCode, typed).toBe(404)
      expect(change.json().message, typed).toBe(message)
      const read = await api.get(typed)
      expect(read.statusCode, typed).toBe(404)
      expect(read.json().message, typed).toBe(message)
      const shopper = await app.inject(`/api/orders/${typed}`)
      expect(shopper.json().message, typed).toBe(message)
    }
    // A loosely typed number that names no order is echoed as typed too.
    const loose = await api.transition('zzzzzzzzzz', { to: 'packed' }, '"1"')
    expect(loose.json().message).toBe('There is no order zzzzzzzzzz.')
  })

  it('is for signed-in staff only', async () => {
    const n = await orderIn('placed')
    const anonymous = await app.inject({
      method: 'POST',
      url: `/api/admin/orders/${n}/transitions`,
      headers: { 'if-match': '"1"' },
      payload: { to: 'cancelled' },
    })
    expect(anonymous.statusCode).toBe(401)
    expect((await app.inject({ url: `/api/admin/orders/${n}` })).statusCode).toBe(401)
    expect((await api.get(n)).json()).toMatchObject({ status: 'placed', version: 1 })
  })
})

describe('cancelling', () => {
  it('puts the stock back once: a second cancel is 409 and leaves the stock alone', async () => {
    const items = [
      { sku: 'TEE-002', quantity: 3 },
      { sku: 'CAP-003', quantity: 2 },
    ]
    const tee = await stocks.of('TEE-002')
    const cap = await stocks.of('CAP-003')
    const n = await orderIn('packed', items)
    expect(await stocks.of('TEE-002')).toBe(tee - 3)

    const first = await api.transition(n, { to: 'cancelled' }, await api.etag(n))
    expect(first.statusCode).toBe(200)
    expect([await stocks.of('TEE-002'), await stocks.of('CAP-003')]).toEqual([tee, cap])

    for (const ifMatch of [first.headers.etag as string, '"2"']) {
      const again = await api.transition(n, { to: 'cancelled' }, ifMatch)
      expect(again.statusCode).toBe(409)
      expect(again.json().message).toBe(`Order ${n} is already cancelled.`)
    }
    expect([await stocks.of('TEE-002'), await stocks.of('CAP-003')]).toEqual([tee, cap])
    expect((await api.get(n)).json().history).toHaveLength(2)
  })

  it('queues the sale negated, so after folding the aggregates leave the order out', async () => {
    const items = [
      { sku: 'BTL-005', quantity: 4 },
      { sku: 'NTB-009', quantity: 1 },
    ]
    const kept = await placeOrder(app, items, 'OR')
    const n = await placeOrder(app, items, 'OR')
    // The sales its placing queued, one per line (in sales_queue_batches, migration 0013, which
    // the background fold may already have emptied): its lines.
    const { rows: queued } = await sql<{ units: number }>`
      select l.quantity as units from order_lines l join orders o on o.id = l.order_id
      where o.order_number = ${n}`.execute(app.db)
    await api.move(n, 'cancelled')
    const { rows: negated } = await sql<{ units: number; orders: number; revenue_cents: string }>`
      select units, orders, revenue_cents from sales_queue order by id desc limit 2`.execute(app.db)
    expect(negated.map((r) => -r.units).sort()).toEqual(queued.map((r) => r.units).sort())
    expect(negated.map((r) => r.orders).sort()).toEqual([-1, 0])
    expect(negated.every((r) => Number(r.revenue_cents) < 0)).toBe(true)

    expect(await brokenInvariants(app.db)).toEqual([])
    const { rows } = await sql<{ orders: string; units: string }>`
      select orders, units from state_sales where state = 'OR'`.execute(app.db)
    expect(rows[0]).toMatchObject({ orders: expect.anything() })
    expect(Number(rows[0]?.orders)).toBe(1)
    expect(Number(rows[0]?.units)).toBe(5)
    expect((await api.get(kept)).json().status).toBe('placed')
  })

  it('is one transaction: when the history row cannot be written, nothing changes', async () => {
    const n = await orderIn('placed', [{ sku: 'SCK-010', quantity: 5 }])
    const before = await stocks.of('SCK-010')
    const queued = await sql<{ n: string }>`select count(*) as n from sales_queue`.execute(app.db)
    // No staff member 999999: the order_events row violates its foreign key.
    await expect(
      changeOrderStatus(app.db, {
        orderNumber: n,
        to: 'cancelled',
        expectedVersions: [1],
        staffId: 999_999,
      }),
    ).rejects.toMatchObject({ code: '23503' })
    expect(await stocks.of('SCK-010')).toBe(before)
    const after = await sql<{ n: string }>`select count(*) as n from sales_queue`.execute(app.db)
    expect(Number(after.rows[0]?.n)).toBe(Number(queued.rows[0]?.n))
    expect((await api.get(n)).json()).toMatchObject({ status: 'placed', version: 1, history: [] })
  })

  it('answers 409 and changes nothing when the stock put back would pass the column (API and page)', async () => {
    const maxStock = 2_147_483_647
    const n = await orderIn('packed', [
      { sku: 'LMP-006', quantity: 2 },
      { sku: 'KNF-008', quantity: 1 },
    ])
    const knives = await stocks.of('KNF-008')
    const lamps = await stocks.of('LMP-006')
    await stocks.set('LMP-006', maxStock)
    const count = async (table: 'sales_queue' | 'outbox') =>
      Number(
        (
          await app.db
            .selectFrom(table)
            .select(sql<string>`count(*)`.as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )
    const before = { queued: await count('sales_queue'), events: await count('outbox') }
    const unchanged = async () => {
      expect((await api.get(n)).json()).toMatchObject({ status: 'packed', version: 2 })
      expect((await api.get(n)).json().history).toHaveLength(1)
      expect([await stocks.of('LMP-006'), await stocks.of('KNF-008')]).toEqual([maxStock, knives])
      expect({ queued: await count('sales_queue'), events: await count('outbox') }).toEqual(before)
    }

    const res = await api.transition(n, { to: 'cancelled' }, '"2"')
    expect(res.statusCode).toBe(409)
    expect(res.json().message).toBe(
      `Order ${n} cannot be cancelled: putting its units back would take LMP-006 past 2,147,483,647 units, the most one product can hold.`,
    )
    await unchanged()

    const { cookie, csrf } = await signIn(app, 'clerk@example.com')
    const page = await app.inject({
      method: 'POST',
      url: `/admin/orders/${n}/transitions`,
      headers: { cookie, ...formHeaders },
      payload: form({ _csrf: csrf, to: 'cancelled', version: '2' }),
    })
    expect(page.statusCode).toBe(409)
    expect(page.body).toContain(
      'putting its units back would take LMP-006 past 2,147,483,647 units',
    )
    await unchanged()
    await stocks.set('LMP-006', lamps)
  })

  it('keeps the invariants after a mix of changes', async () => {
    for (const status of statuses) await orderIn(status, [{ sku: 'CHR-014', quantity: 2 }])
    expect(await brokenInvariants(app.db)).toEqual([])
  })
})

describe('the OpenAPI document', () => {
  it('describes both routes, their bearer scheme, body and answers', async () => {
    const doc = (await app.inject({ url: '/openapi.json' })).json()
    const get = doc.paths['/api/admin/orders/{orderNumber}'].get
    const post = doc.paths['/api/admin/orders/{orderNumber}/transitions'].post
    for (const op of [get, post]) expect(op.security).toEqual([{ staffToken: [] }])
    expect(Object.keys(post.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '404', '409', '412', '428']),
    )
    const body = post.requestBody.content['application/json'].schema
    expect(body.properties.to.enum).toEqual(['packed', 'shipped', 'delivered', 'cancelled'])
    expect(Object.keys(body.properties)).toEqual(['to', 'note', 'carrier', 'trackingNumber'])
    expect(post.parameters.map((p: { name: string }) => p.name)).toContain('if-match')
    expect(get.responses['200'].content['application/json'].schema.properties).toHaveProperty(
      'history',
    )
  })

  it('marks If-Match required and declares the ETag both routes send', async () => {
    const doc = (await app.inject({ url: '/openapi.json' })).json()
    const get = doc.paths['/api/admin/orders/{orderNumber}'].get
    const post = doc.paths['/api/admin/orders/{orderNumber}/transitions'].post
    const ifMatch = post.parameters.find((p: { name: string }) => p.name === 'if-match')
    expect(ifMatch).toMatchObject({ in: 'header', required: true })
    for (const op of [get, post]) expect(op.responses['200'].headers).toHaveProperty(['etag'])
    // And the service answers as documented: the header on both, its own 428 without If-Match.
    const n = await orderIn('placed')
    expect((await api.get(n)).headers.etag).toBe('"1"')
    expect((await api.transition(n, { to: 'packed' }, '"1"')).headers.etag).toBe('"2"')
    const missing = await api.transition(n, { to: 'cancelled' }, null)
    expect(missing.statusCode).toBe(428)
    expect(missing.json()).toMatchObject({
      type: expect.stringMatching(/precondition-required$/),
      detail:
        'Send If-Match with the order\'s ETag (from GET /api/admin/orders/{orderNumber}), such as If-Match: "1".',
    })
    // Before the body is checked, whether the header is missing, blank or `*`.
    for (const ifMatch of [null, ' ', '*']) {
      const res = await api.transition(n, { to: 'lost' } as never, ifMatch)
      expect(res.statusCode, String(ifMatch)).toBe(428)
    }
  })
})

describe('the schema', () => {
  it('refuses a shipped order without tracking, and an unknown status, even from SQL', async () => {
    const n = await orderIn('packed')
    await expect(
      sql`update orders set status = 'shipped' where order_number = ${n}`.execute(app.db),
    ).rejects.toMatchObject({ code: '23514' })
    await expect(
      sql`update orders set status = 'lost' where order_number = ${n}`.execute(app.db),
    ).rejects.toMatchObject({ code: '23514' })
  })
})
