import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { problemBase } from '../../src/plugins/problems.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'

/** /api errors are RFC 9457 problem details that keep statusCode, error and message. */
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t?.close())

const order = (body: unknown, key: string = randomUUID()) =>
  t.app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: { 'idempotency-key': key },
    payload: body as Record<string, unknown>,
  })

/** The members every problem has, checked against the answer's status and type. */
function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json: () => unknown },
  status: number,
  kind: string,
) {
  expect(res.statusCode).toBe(status)
  expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
  const body = res.json() as Record<string, unknown>
  expect(body.type).toBe(`${problemBase}${kind}`)
  expect(body.status).toBe(status)
  expect(typeof body.title).toBe('string')
  expect(typeof body.detail).toBe('string')
  expect((body.detail as string).length).toBeGreaterThan(0)
  // Today's members, unchanged in meaning.
  expect(body.statusCode).toBe(status)
  expect(body.error).toMatch(/^[A-Z]/)
  expect(body.message).toBe(body.detail)
  return body
}

describe('problem details', () => {
  it('a refused body lists each invalid value by JSON Pointer', async () => {
    const res = await order({
      items: [{ sku: 'MUG-001', quantity: 0 }],
      customer: { ...customer, email: 'not-an-address', zip: undefined, 'a/b~c': 1 },
    })
    const body = expectProblem(res, 400, 'validation')
    expect(body.title).toBe('The request is invalid')
    expect(body.error).toBe('Bad Request')
    const errors = body.errors as { pointer: string; detail: string }[]
    const pointers = errors.map((e) => e.pointer)
    expect(pointers).toEqual(
      expect.arrayContaining([
        '/items/0/quantity',
        '/customer/email',
        '/customer/zip',
        '/customer/a~1b~0c',
      ]),
    )
    for (const e of errors) expect(e.detail.length).toBeGreaterThan(0)
    expect(errors.find((e) => e.pointer === '/customer/zip')?.detail).toBe('is required')
    expect(errors.find((e) => e.pointer === '/customer/a~1b~0c')?.detail).toMatch(/unknown field/)
  })

  it('a refused path parameter is named, not pointed at', async () => {
    const res = await t.app.inject({ url: `/api/orders/${'A'.repeat(40)}` })
    const body = expectProblem(res, 400, 'validation')
    expect(body.errors).toEqual([{ parameter: 'orderNumber', detail: expect.any(String) }])
  })

  it('an unknown product points at its line', async () => {
    const res = await order({
      items: [
        { sku: 'MUG-001', quantity: 1 },
        { sku: 'NOPE-999', quantity: 1 },
      ],
      customer,
    })
    const body = expectProblem(res, 400, 'validation')
    expect(body.errors).toEqual([{ pointer: '/items/1/sku', detail: expect.any(String) }])
  })

  it('out of stock, a reused key, an unknown order, no token', async () => {
    await t.app.db.updateTable('products').set({ stock: 2 }).where('sku', '=', 'KNF-008').execute()
    const short = await order({ items: [{ sku: 'KNF-008', quantity: 3 }], customer })
    const out = expectProblem(short, 409, 'out-of-stock')
    expect(out.errors).toEqual([{ pointer: '/items/0/sku', detail: 'not enough stock left' }])
    expect(out.available).toEqual([{ sku: 'KNF-008', units: 2 }])

    const key = randomUUID()
    expect(
      (await order({ items: [{ sku: 'MUG-001', quantity: 1 }], customer }, key)).statusCode,
    ).toBe(201)
    const reused = await order({ items: [{ sku: 'MUG-001', quantity: 2 }], customer }, key)
    expectProblem(reused, 422, 'idempotency-key-reused')

    expectProblem(await t.app.inject({ url: '/api/orders/ZZZZ-ZZZZ' }), 404, 'not-found')
    expectProblem(await t.app.inject({ url: '/api/nowhere' }), 404, 'not-found')
    expectProblem(await t.app.inject({ url: '/api/admin/orders' }), 401, 'unauthorized')
    expectProblem(
      await t.app.inject({ method: 'PUT', url: '/api/orders' }),
      405,
      'method-not-allowed',
    )
  })

  it('a body of the wrong type or too large', async () => {
    const wrongType = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID(), 'content-type': 'application/xml' },
      payload: '<order/>',
    })
    expectProblem(wrongType, 415, 'unsupported-media-type')
    const large = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
      payload: JSON.stringify({ pad: 'x'.repeat(70 * 1024) }),
    })
    expectProblem(large, 413, 'body-too-large')
  })

  it('pages stay HTML, and non-API JSON keeps its old shape', async () => {
    // A browser, curl (Accept: */*) and a client that sends no Accept get the page.
    for (const headers of [{ accept: 'text/html' }, { accept: '*/*' }, {}]) {
      const page = await t.app.inject({ url: '/orders/ZZZZ-ZZZZ', headers })
      expect(page.statusCode).toBe(404)
      expect(page.headers['content-type']).toMatch(/^text\/html/)
    }
    const json = await t.app.inject({
      url: '/orders/ZZZZ-ZZZZ',
      headers: { accept: 'application/json' },
    })
    expect(json.headers['content-type']).toMatch(/^application\/json/)
    expect(Object.keys(json.json()).sort()).toEqual(['error', 'message', 'statusCode'])
  })
})
