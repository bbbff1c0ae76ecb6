import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { pageMessages } from '../helpers/reliability.ts'

// A field or header that takes one value, given twice, is refused for that ("must be given
// once"), as a query parameter is (`?status=a&status=b`), not for the sentence its value's
// schema gives (src/validation.ts, repeatedParameter).
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp({ RATE_LIMIT_MAX: '0', MAX_EVENT_LOOP_DELAY_MS: '0' })
})
afterAll(() => t?.close())

const items = [{ sku: 'MUG-001', quantity: 1 }]

async function postForm(body: string) {
  const key = randomUUID()
  const res = await t.app.inject({
    method: 'POST',
    url: '/orders',
    headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
    payload: `${new URLSearchParams({ ...customer, idempotencyKey: key })}&${body}`,
  })
  return res
}

describe('a value given twice', () => {
  it('on the order form names the repetition, for a text field and a quantity', async () => {
    const names = await postForm('qty-MUG-001=1&name=Bob')
    expect(names.statusCode).toBe(400)
    expect(pageMessages(names.body)).toContain('Name must be given once.')
    const quantities = await postForm('qty-MUG-001=1&qty-MUG-001=2')
    expect(quantities.statusCode).toBe(400)
    expect(pageMessages(quantities.body)).toContain(
      'Quantity of Enamel Camp Mug must be given once.',
    )
  })

  it('as the Idempotency-Key header of POST /api/orders says so', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': [randomUUID(), randomUUID()] },
      payload: { items, customer },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toBe('idempotency-key must be given once')
    expect(res.json().errors).toEqual([{ detail: 'must be given once', header: 'idempotency-key' }])
  })

  it('as a list in JSON is still the wrong kind of value, not a repetition', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: { items, customer: { ...customer, name: ['Ada', 'Bob'] } },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toBe('customer.name must be text')
  })
})
