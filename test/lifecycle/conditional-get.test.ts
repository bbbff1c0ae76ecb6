// GET /api/admin/orders/:n with If-None-Match (RFC 9110 §13.1.2): 304 Not Modified, with the
// ETag and no body, while the order is at a version it lists (weak comparison, `*`, a list).
// It was ignored: If-None-Match: "1" matching the ETag answered 200 with the whole order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { lifecycleApi, placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

let t: TestApp
let authorization: string
let api: ReturnType<typeof lifecycleApi>
beforeAll(async () => {
  t = await buildTestApp()
  const token = await addToken(t.app, await addStaff(t.app, 'clerk@example.com'))
  authorization = `Bearer ${token}`
  api = lifecycleApi(t.app, token)
})
afterAll(() => t?.close())

const get = (orderNumber: string, ifNoneMatch: string, method: 'GET' | 'HEAD' = 'GET') =>
  t.app.inject({
    method,
    url: `/api/admin/orders/${orderNumber}`,
    headers: { authorization, 'if-none-match': ifNoneMatch },
  })

describe('If-None-Match on an order', () => {
  it('answers 304 with the ETag and no body while it lists the order version', async () => {
    const orderNumber = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    for (const header of ['"1"', 'W/"1"', '"7", "1"', ' "1" ', '*', '"x", W/"1"']) {
      const res = await get(orderNumber, header)
      expect(res.statusCode, header).toBe(304)
      expect(res.headers.etag).toBe('"1"')
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.headers['content-type']).toBeUndefined()
      expect(res.body).toBe('')
    }
    const head = await get(orderNumber, '"1"', 'HEAD')
    expect(head.statusCode).toBe(304)
    expect(head.headers.etag).toBe('"1"')
    expect(head.body).toBe('')
    // A 304's Content-Length may only be the 200's (RFC 9110 §8.6): none is sent.
    expect(head.headers['content-length']).toBeUndefined()
    // A HEAD answered 200 gives the GET's length and no body.
    const [whole, headers] = [await get(orderNumber, '"9"'), await get(orderNumber, '"9"', 'HEAD')]
    expect(headers.statusCode).toBe(200)
    expect(headers.headers['content-length']).toBe(whole.headers['content-length'])
    expect(headers.headers.etag).toBe('"1"')
    expect(headers.body).toBe('')
  })

  it('answers 200 with the order once it has changed, or for a tag of no version of it', async () => {
    const orderNumber = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    const other = await get(orderNumber, '"2", W/"3"')
    expect(other.statusCode).toBe(200)
    expect(other.json().orderNumber).toBe(orderNumber)
    await api.move(orderNumber, 'packed')
    const changed = await get(orderNumber, '"1"')
    expect(changed.statusCode).toBe(200)
    expect(changed.headers.etag).toBe('"2"')
    expect(changed.json().status).toBe('packed')
    expect((await get(orderNumber, '"2"')).statusCode).toBe(304)
  })

  it('is 400 when not entity-tag syntax; an order that does not exist is 404 whatever it says', async () => {
    const orderNumber = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    for (const header of ['1', '"1', '"1", *', 'W/1']) {
      const res = await get(orderNumber, header)
      expect(res.statusCode, header).toBe(400)
      expect(res.json().detail).toContain('If-None-Match must be')
    }
    expect((await get('ZZZZZ-ZZZZZ', '*')).statusCode).toBe(404)
    // Blank: no condition.
    expect((await get(orderNumber, ' ')).statusCode).toBe(200)
  })

  it('is described in the OpenAPI document: the header, and 304 with the ETag', async () => {
    const doc = (await t.app.inject('/openapi.json')).json()
    const op = doc.paths['/api/admin/orders/{orderNumber}'].get
    expect(op.parameters).toContainEqual(
      expect.objectContaining({ in: 'header', name: 'if-none-match', required: false }),
    )
    expect(op.responses['304'].headers.etag).toBeDefined()
    expect(op.responses['304'].content).toBeUndefined()
  })
})
