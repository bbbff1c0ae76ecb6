import { randomUUID } from 'node:crypto'
import type autocannon from 'autocannon'
import { catalogue } from '../../src/products/catalogue.ts'

/** What a browser would type into the order form, as an urlencoded body. */
export function formBody(key: string, sku: string): string {
  return new URLSearchParams({
    sku,
    quantity: '1',
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    address: '12 Analytical Way',
    city: 'Austin',
    state: states[Math.floor(Math.random() * states.length)] as string,
    zip: '78701',
    idempotencyKey: key,
  }).toString()
}

export const states = ['CA', 'TX', 'FL', 'NY', 'PA', 'IL', 'OH', 'GA', 'NC', 'MI', 'WA', 'VT']
// The whole catalogue: pgbench's order transaction picks among all 14 products too.
export const skus = catalogue.map((p) => p.sku)
export const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T

export function apiOrderBody(): string {
  return JSON.stringify({
    items: [{ sku: pick(skus), quantity: 1 }],
    customer: {
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      address: '12 Analytical Way',
      city: 'Austin',
      state: pick(states),
      zip: '78701',
    },
  })
}

const keyPattern = /name="idempotencyKey" value="([^"]+)"/

// autocannon hands every request of a connection the same context object.
type Context = { key?: string; location?: string }

/** The shopper flow as autocannon requests: GET the form, POST it (303), GET the confirmation. */
export const shopperFlow: autocannon.Request[] = [
  {
    method: 'GET',
    path: '/',
    onResponse: (_status, body, context) => {
      ;(context as Context).key = keyPattern.exec(body)?.[1] ?? randomUUID()
    },
  },
  {
    method: 'POST',
    path: '/orders',
    setupRequest: (req, context) => ({
      ...req,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody((context as Context).key ?? randomUUID(), pick(skus)),
    }),
    onResponse: (_status, _body, context, headers) => {
      ;(context as Context).location = headers?.location as string | undefined
    },
  },
  {
    method: 'GET',
    setupRequest: (req, context) => ({
      ...req,
      path: (context as Context).location ?? '/orders/00000-00000',
    }),
  },
]
