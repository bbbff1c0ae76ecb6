import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { changeOrderStatus } from '../../src/lifecycle/change-order-status.ts'
import { placeOrder as placeOrderDirect } from '../../src/orders/place-order.ts'
import { placeOrderBatch } from '../../src/orders/place-order-batch.ts'
import type { PlaceOrderResult } from '../../src/orders/placement.ts'
import type { OrderRequest } from '../../src/orders/schemas.ts'
import { buildTestApp, customer, stock, type TestApp } from '../helpers/context.ts'
import { lifecycleApi, placeOrder, shipping } from '../helpers/lifecycle.ts'
import {
  consumeEvents,
  expectValidData,
  getOrder,
  orderEvents,
  outboxMark,
  outboxRows,
} from '../helpers/outbox.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

// The outbox (src/outbox): every order event written by the statement that makes its change,
// nothing written by a statement that changes nothing or fails. On PGlite and PostgreSQL.
let t: TestApp
let staff: ReturnType<typeof lifecycleApi>
let stopConsuming: () => Promise<void>
beforeAll(async () => {
  t = await buildTestApp({ RATE_LIMIT_MAX: '0' })
  staff = lifecycleApi(t.app, await addToken(t.app, await addStaff(t.app, 'ann@example.com')))
  // Every event wanted (mail is off here), so order.placed is written with its payload.
  stopConsuming = await consumeEvents(t.app.db)
})
afterAll(() => t?.close())

const db = () => t.app.db
const { set: setStock, of: stockOf } = stock(db)
const request = (items: OrderRequest['items'], key = randomUUID()): OrderRequest => ({
  items,
  customer,
  idempotencyKey: key,
})
const postOrder = (items: OrderRequest['items'], key = randomUUID(), body = {}) =>
  t.app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: { 'idempotency-key': key },
    payload: { items, customer, ...body },
  })
const numberOf = (r: PlaceOrderResult | Error | undefined) =>
  r && !(r instanceof Error) && 'order' in r ? r.order.orderNumber : undefined

describe('order.placed', () => {
  it('one event per order, written with it, whose data is the order as GET /api/orders/:n shows it', async () => {
    await setStock('MUG-001', 50)
    await setStock('TEE-002', 50)
    await setStock('CAP-003', 50)
    const res = await postOrder([
      { sku: 'TEE-002', quantity: 2 },
      { sku: 'MUG-001', quantity: 1 },
      { sku: 'CAP-003', quantity: 3 },
      { sku: 'MUG-001', quantity: 4 },
    ])
    expect(res.statusCode).toBe(201)
    const { orderNumber } = res.json()
    const events = await orderEvents(db(), orderNumber)
    expect(events.map((e) => e.event_type)).toEqual(['order.placed'])
    const [event] = events
    if (!event) throw new Error('no event')
    expect(event.payload).toEqual(await getOrder(t.app, orderNumber))
    expect(event.payload).toEqual(res.json())
    expectValidData(event)
    expect(event.product_id).toBeNull()
    // Written by the order's own transaction: the same transaction time.
    const { rows } = await sql<{ same: boolean }>`
      select o.created_at = e.created_at as same from orders o join outbox e on e.order_id = o.id
      where o.order_number = ${orderNumber}`.execute(db())
    expect(rows).toEqual([{ same: true }])
  })

  it('from the group-commit statement: one event per placed order, none for those it refused', async () => {
    await setStock('LMP-006', 3)
    await setStock('MUG-001', 100)
    const mark = await outboxMark(db())
    const results = await placeOrderBatch(db(), [
      request([{ sku: 'LMP-006', quantity: 2 }]),
      request([
        { sku: 'MUG-001', quantity: 1 },
        { sku: 'LMP-006', quantity: 1 },
      ]),
      request([{ sku: 'LMP-006', quantity: 1 }]), // none left: refused
      request([{ sku: 'NOPE-000', quantity: 1 }]), // unknown: refused
      request([{ sku: 'MUG-001', quantity: 7 }]),
    ])
    expect(results.map((r) => (r instanceof Error ? r.message : r.kind))).toEqual([
      'placed',
      'placed',
      'out-of-stock',
      'unknown-product',
      'placed',
    ])
    const placed = (await outboxRows(db(), mark)).filter((e) => e.event_type === 'order.placed')
    expect(placed).toHaveLength(3)
    for (const n of [0, 1, 4]) {
      const number = numberOf(results[n]) as string
      const events = await orderEvents(db(), number)
      expect(events.map((e) => e.event_type)).toEqual(['order.placed'])
      expect(events[0]?.payload).toEqual(await getOrder(t.app, number))
      expectValidData(events[0] as (typeof events)[number])
    }
  })

  it('writes nothing for an order it refuses: out of stock, unknown or off-sale product, reused key, replay, invalid body', async () => {
    await setStock('KNF-008', 1)
    await setStock('MUG-001', 100)
    const key = randomUUID()
    expect((await postOrder([{ sku: 'MUG-001', quantity: 1 }], key)).statusCode).toBe(201)
    await db()
      .updateTable('products')
      .set({ on_sale: false })
      .where('sku', '=', 'LMP-006')
      .execute()
    const mark = await outboxMark(db())
    try {
      const answers = await Promise.all([
        postOrder([{ sku: 'KNF-008', quantity: 2 }]),
        postOrder([{ sku: 'NOPE-000', quantity: 1 }]),
        postOrder([{ sku: 'LMP-006', quantity: 1 }]),
        postOrder([{ sku: 'MUG-001', quantity: 2 }], key),
        postOrder([{ sku: 'MUG-001', quantity: 1 }], key),
        postOrder([{ sku: 'MUG-001', quantity: 0 }]),
        postOrder([{ sku: 'MUG-001', quantity: 1 }], randomUUID(), { giftNote: 'x' }),
      ])
      expect(answers.map((r) => r.statusCode)).toEqual([409, 400, 400, 422, 200, 400, 400])
      // The same again through the statements themselves, alone and in one batch.
      const direct = await Promise.all([
        placeOrderDirect(db(), request([{ sku: 'KNF-008', quantity: 2 }])),
        placeOrderDirect(db(), request([{ sku: 'MUG-001', quantity: 1 }], `api:${key}`)),
      ])
      expect(direct.map((r) => r.kind)).toEqual(['out-of-stock', 'replayed'])
      const batch = await placeOrderBatch(db(), [
        request([{ sku: 'KNF-008', quantity: 2 }]),
        request([{ sku: 'LMP-006', quantity: 1 }]),
        request([{ sku: 'MUG-001', quantity: 3 }], `api:${key}`),
        request([{ sku: 'MUG-001', quantity: 1 }], `api:${key}`),
      ])
      expect(batch.map((r) => (r instanceof Error ? r.message : r.kind))).toEqual([
        'out-of-stock',
        'unknown-product',
        'key-reused',
        'replayed',
      ])
      expect(await outboxRows(db(), mark)).toEqual([])
      expect(await stockOf('KNF-008')).toBe(1)
      // And the next order that is placed writes its event, the only one since the mark.
      const placed = await postOrder([{ sku: 'KNF-008', quantity: 1 }])
      expect(placed.statusCode).toBe(201)
      const rows = await outboxRows(db(), mark)
      expect(
        rows.map((e) => [e.event_type, e.payload.orderNumber ?? e.payload.sku]).sort(),
      ).toEqual([
        ['order.placed', placed.json().orderNumber],
        ['product.out_of_stock', 'KNF-008'],
      ])
    } finally {
      await db()
        .updateTable('products')
        .set({ on_sale: true })
        .where('sku', '=', 'LMP-006')
        .execute()
    }
  })
})

describe('product.out_of_stock', () => {
  it('one event when an order takes the last unit; none while stock is left or after it is gone', async () => {
    await setStock('CAP-003', 3)
    const mark = await outboxMark(db())
    await placeOrder(t.app, [{ sku: 'CAP-003', quantity: 2 }]) // 1 left: no event
    expect((await outboxRows(db(), mark)).map((e) => e.event_type)).toEqual(['order.placed'])
    // Ten at once for the last unit: batched together (ORDER_BATCH_MAX 64), one wins.
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => postOrder([{ sku: 'CAP-003', quantity: 1 }])),
    )
    expect(answers.filter((r) => r.statusCode === 201)).toHaveLength(1)
    expect(answers.filter((r) => r.statusCode === 409)).toHaveLength(9)
    expect(await stockOf('CAP-003')).toBe(0)
    const soldOut = (await outboxRows(db(), mark)).filter(
      (e) => e.event_type === 'product.out_of_stock',
    )
    expect(soldOut).toHaveLength(1)
    const [event] = soldOut
    if (!event) throw new Error('no event')
    expect(event.payload).toEqual({ sku: 'CAP-003', name: expect.any(String) })
    const product = await db()
      .selectFrom('products')
      .select(['id', 'name'])
      .where('sku', '=', 'CAP-003')
      .executeTakeFirstOrThrow()
    expect(event.product_id).toBe(product.id)
    expect(event.payload.name).toBe(product.name)
    expect(event.order_id).toBeNull()
    expectValidData(event)
  })

  it('from the group-commit statement: one event per product it sells out, even over several orders', async () => {
    await setStock('TEE-002', 3)
    await setStock('MUG-001', 2)
    await setStock('KNF-008', 10)
    const mark = await outboxMark(db())
    const results = await placeOrderBatch(db(), [
      request([{ sku: 'TEE-002', quantity: 1 }]),
      request([
        { sku: 'TEE-002', quantity: 2 },
        { sku: 'MUG-001', quantity: 2 },
      ]),
      request([{ sku: 'KNF-008', quantity: 9 }]),
    ])
    expect(results.map((r) => (r instanceof Error ? r.message : r.kind))).toEqual([
      'placed',
      'placed',
      'placed',
    ])
    const soldOut = (await outboxRows(db(), mark))
      .filter((e) => e.event_type === 'product.out_of_stock')
      .map((e) => e.payload.sku)
      .sort()
    expect(soldOut).toEqual(['MUG-001', 'TEE-002'])
  })
})

describe('status changes', () => {
  it('each change writes exactly one event: the order as GET then shows it, with from, to and note', async () => {
    await setStock('MUG-001', 100)
    await setStock('TEE-002', 100)
    const number = await placeOrder(t.app, [
      { sku: 'MUG-001', quantity: 2 },
      { sku: 'TEE-002', quantity: 1 },
    ])
    const steps = [
      { to: 'packed', note: 'boxed by Ann' },
      { to: 'shipped', note: undefined },
      { to: 'delivered', note: 'left at the door' },
    ] as const
    let previous = 'placed'
    for (const step of steps) {
      await staff.move(number, step.to, step.note === undefined ? {} : { note: step.note })
      const events = await orderEvents(db(), number)
      const last = events.at(-1)
      if (!last) throw new Error('no event')
      expect(last.event_type).toBe(`order.${step.to}`)
      expect(last.payload).toEqual({
        ...(await getOrder(t.app, number)),
        from: previous,
        to: step.to,
        note: step.note ?? null,
      })
      expectValidData(last)
      previous = step.to
    }
    const events = await orderEvents(db(), number)
    expect(events.map((e) => e.event_type)).toEqual([
      'order.placed',
      'order.packed',
      'order.shipped',
      'order.delivered',
    ])
    expect(events.at(-1)?.payload).toMatchObject(shipping)
    expect(events[1]?.payload).toMatchObject({ carrier: null, trackingNumber: null })
    // One per order_events row, at the same transaction time.
    const { rows } = await sql<{ n: string }>`
      select count(*) as n from order_events h join outbox e
        on e.order_id = h.order_id and e.created_at = h.created_at
           and e.event_type = 'order.' || h.to_status
      where h.order_id = ${events[0]?.order_id}::bigint`.execute(db())
    expect(Number(rows[0]?.n)).toBe(3)
  })

  it('a cancel writes order.cancelled; refused changes (409, 412, 400) write nothing', async () => {
    const number = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    const mark = await outboxMark(db())
    const refused = await Promise.all([
      staff.transition(number, { to: 'delivered' }, '"1"'), // 409: not yet
      staff.transition(number, { to: 'packed' }, '"7"'), // 412: stale
      staff.transition(number, { to: 'shipped' }, '"1"'), // 409: not from placed (before the carrier)
      staff.transition(number, { to: 'packed', carrier: 'UPS' }, '"1"'), // 400
    ])
    expect(refused.map((r) => r.statusCode)).toEqual([409, 412, 409, 400])
    expect(await outboxRows(db(), mark)).toEqual([])
    await staff.move(number, 'cancelled')
    const rows = await outboxRows(db(), mark)
    expect(rows.map((e) => e.event_type)).toEqual(['order.cancelled'])
    expect(rows[0]?.payload).toMatchObject({ status: 'cancelled', from: 'placed', to: 'cancelled' })
    const again = await staff.transition(number, { to: 'cancelled' }, '"2"')
    expect(again.statusCode).toBe(409)
    expect(await outboxRows(db(), mark)).toHaveLength(1)
  })

  it('two cancels of one order at once: one order.cancelled', async () => {
    const numbers: string[] = []
    for (let i = 0; i < 10; i++)
      numbers.push(await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }]))
    const answers = await Promise.all(
      numbers.map((n) =>
        Promise.all([
          staff.transition(n, { to: 'cancelled' }, '"1"'),
          staff.transition(n, { to: 'cancelled' }, '"1"'),
        ]),
      ),
    )
    for (const pair of answers) expect(pair.map((r) => r.statusCode).sort()).toEqual([200, 409])
    for (const n of numbers) {
      expect((await orderEvents(db(), n)).map((e) => e.event_type)).toEqual([
        'order.placed',
        'order.cancelled',
      ])
    }
  })
})

/**
 * A statement that fails after writing its events writes none of them: a deferred constraint
 * trigger refuses the transaction at its commit, after every part of the statement (the outbox
 * inserts included) has run.
 */
describe('no event without its change', () => {
  const refuseAtCommit = async (table: 'orders' | 'order_events', when: string) => {
    await sql`
      create or replace function outbox_test_refuse() returns trigger language plpgsql as $$
      begin raise exception 'refused by the test' using errcode = 'check_violation'; end $$
    `.execute(db())
    await sql
      .raw(
        `create constraint trigger outbox_test_refuse after insert on ${table}
         deferrable initially deferred for each row when (${when})
         execute function outbox_test_refuse()`,
      )
      .execute(db())
    return () => sql.raw(`drop trigger outbox_test_refuse on ${table}`).execute(db())
  }

  it('an order whose transaction fails at commit leaves no order.placed and no product.out_of_stock', async () => {
    await setStock('LMP-006', 5)
    await setStock('MUG-001', 100)
    const drop = await refuseAtCommit('orders', `new.city = 'Nowhere'`)
    try {
      const mark = await outboxMark(db())
      const doomed = (sku: string, quantity: number): OrderRequest => ({
        ...request([{ sku, quantity }]),
        customer: { ...customer, city: 'Nowhere' },
      })
      // Alone, and in a batch (which fails whole, then places each order on its own).
      await expect(placeOrderDirect(db(), doomed('LMP-006', 5))).rejects.toThrow(/refused/)
      const results = await placeOrderBatch(db(), [
        request([{ sku: 'MUG-001', quantity: 1 }]),
        doomed('LMP-006', 5),
        request([{ sku: 'MUG-001', quantity: 1 }]),
      ])
      expect(results.map((r) => (r instanceof Error ? 'error' : r.kind))).toEqual([
        'placed',
        'error',
        'placed',
      ])
      expect(await stockOf('LMP-006')).toBe(5)
      const rows = await outboxRows(db(), mark)
      expect(rows.map((e) => e.event_type)).toEqual(['order.placed', 'order.placed'])
      expect(rows.map((e) => e.payload.orderNumber).sort()).toEqual(
        [numberOf(results[0]), numberOf(results[2])].sort(),
      )
    } finally {
      await drop()
    }
  })

  it('a status change whose transaction fails at commit leaves no event and no change', async () => {
    const number = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    const drop = await refuseAtCommit('order_events', `new.note = 'refuse me'`)
    try {
      const mark = await outboxMark(db())
      await expect(
        changeOrderStatus(db(), {
          orderNumber: number,
          to: 'cancelled',
          expectedVersions: [1],
          staffId: null,
          note: 'refuse me',
        }),
      ).rejects.toThrow(/refused/)
      expect(await outboxRows(db(), mark)).toEqual([])
      expect((await getOrder(t.app, number)).status).toBe('placed')
    } finally {
      await drop()
    }
    // Without the trigger the same change is made, with its one event.
    const mark = await outboxMark(db())
    const change = { orderNumber: number, staffId: null, note: 'refuse me' } as const
    expect(
      await changeOrderStatus(db(), { ...change, to: 'cancelled', expectedVersions: [1] }),
    ).toMatchObject({ kind: 'changed', version: 2 })
    expect((await outboxRows(db(), mark)).map((e) => e.event_type)).toEqual(['order.cancelled'])
  })
})

describe('events no consumer wants: order.placed not written, the rest written already fanned out', () => {
  beforeAll(() => stopConsuming())
  /**
   * Each new event as `type:fanned` or `type:waiting`, `:no payload` after it when written
   * without one (migration 0010), sorted (one statement's CTEs insert in no set order).
   */
  const marks = async (after: string) => {
    const { rows } = await sql<{ event_type: string; fanned: boolean; bare: boolean }>`
      select event_type, fanned_out_at is not null as fanned, payload is null as bare from outbox
      where id > ${after}::bigint order by id`.execute(db())
    return rows
      .map(
        (r) => `${r.event_type}:${r.fanned ? 'fanned' : 'waiting'}${r.bare ? ':no payload' : ''}`,
      )
      .sort()
  }
  const endpoint = (eventTypes: string[], enabled = true) =>
    db()
      .insertInto('webhook_endpoints')
      .values({
        url: 'http://127.0.0.1:9/hook',
        event_types: eventTypes,
        secret: 'whsec_x',
        enabled,
      })
      .returning('id')
      .executeTakeFirstOrThrow()

  it('mail off: order.placed written only when an enabled endpoint wants it, the rest fanned out unless wanted; mail on: order.placed waits', async () => {
    const ids: number[] = []
    try {
      await setStock('CAP-003', 2)
      await setStock('KNF-008', 10)
      const sellOut = () => request([{ sku: 'CAP-003', quantity: 1 }])
      const off = { emails: false }
      // No endpoint, mail off: nothing waits, in both statements.
      let mark = await outboxMark(db())
      const batch = await placeOrderBatch(db(), [sellOut(), sellOut()], off)
      expect(batch.map((r) => (r instanceof Error ? r.message : r.kind))).toEqual([
        'placed',
        'placed',
      ])
      expect(
        (await placeOrderDirect(db(), request([{ sku: 'KNF-008', quantity: 1 }]), off)).kind,
      ).toBe('placed')
      // And no order.placed at all: nothing would ever read it.
      expect(await marks(mark)).toEqual(['product.out_of_stock:fanned'])
      // An enabled endpoint for order.placed (a disabled one for out-of-stock counts for nothing).
      ids.push((await endpoint(['order.placed'])).id)
      ids.push((await endpoint(['product.out_of_stock'], false)).id)
      await setStock('CAP-003', 2)
      mark = await outboxMark(db())
      await placeOrderBatch(db(), [sellOut(), sellOut()], off)
      await placeOrderDirect(db(), request([{ sku: 'KNF-008', quantity: 1 }]), off)
      expect(await marks(mark)).toEqual([
        'order.placed:waiting',
        'order.placed:waiting',
        'order.placed:waiting',
        'product.out_of_stock:fanned',
      ])
      // Mail on (the default): order.placed makes an e-mail, so it waits for the fan-out.
      await db().deleteFrom('webhook_endpoints').where('id', 'in', ids).execute()
      mark = await outboxMark(db())
      const knife = () => request([{ sku: 'KNF-008', quantity: 1 }])
      await placeOrderBatch(db(), [knife(), knife()])
      await placeOrderDirect(db(), knife())
      expect(await marks(mark)).toEqual([
        'order.placed:waiting',
        'order.placed:waiting',
        'order.placed:waiting',
      ])
    } finally {
      if (ids.length > 0)
        await db().deleteFrom('webhook_endpoints').where('id', 'in', ids).execute()
    }
  })
})
