import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { catalogue } from '../../src/products/catalogue.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'

// A shopper behind an address others have spent (an office, a NAT) sends the order form again
// because its first answer was lost: the order went in, and the resubmission, past
// RATE_LIMIT_MAX, must lead to it, not to a 429 form inviting a second order.
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp({ RATE_LIMIT_MAX: '1', TRUST_PROXY: 'true' })
})
afterAll(() => t?.close())

/** The form as the page sends it: a quantity, its hidden price, the customer, the key. */
const mugCents = catalogue.find((p) => p.sku === 'MUG-001')?.priceCents
const fields = (key: string, quantity = 1) =>
  `qty-MUG-001=${quantity}&price-MUG-001=${mugCents}&name=A&email=a%40b.co&address=1+A&city=Austin&state=TX&zip=78701&idempotencyKey=${key}`
const send = (client: string, payload: string) =>
  t.app.inject({
    method: 'POST',
    url: '/orders',
    headers: {
      'x-forwarded-for': client,
      accept: 'text/html',
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload,
  })

describe('the order form sent again past the rate limit (RATE_LIMIT_MAX=1)', () => {
  it('leads to the order its first sending placed, once, with the order_key cookie', async () => {
    const key = randomUUID()
    const first = await send('192.0.2.10', fields(key))
    expect(first.statusCode).toBe(303)
    const again = await send('192.0.2.10', fields(key.toUpperCase()))
    expect(again.statusCode).toBe(303)
    expect(again.headers.location).toBe(first.headers.location)
    expect(String(again.headers['set-cookie'])).toContain(`order_key=${key}`)
    const orders = await t.app.db
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('idempotency_key', '=', `form:${key}`)
      .executeTakeFirstOrThrow()
    expect(Number(orders.n)).toBe(1)
  })

  it('still refuses 429 a changed form under the same key, a new key and an invalid form', async () => {
    const key = randomUUID()
    expect((await send('192.0.2.11', fields(key))).statusCode).toBe(303)
    const changed = await send('192.0.2.11', fields(key, 2))
    expect(changed.statusCode).toBe(429)
    expect(changed.body).toContain('Too many orders from your address')
    expect((await send('192.0.2.11', fields(randomUUID()))).statusCode).toBe(429)
    const invalid = await send('192.0.2.11', fields(key).replace('zip=78701', 'zip=7870'))
    expect(invalid.statusCode).toBe(429)
  })
})
