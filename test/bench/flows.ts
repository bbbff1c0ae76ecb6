import { randomUUID } from 'node:crypto'
import type autocannon from 'autocannon'
import { catalogue } from '../../src/products/catalogue.ts'

/**
 * How many products a form order chooses: one in most, two or three in some (80%, 15%, 5%; the
 * same mix as form.lua), so the form cases measure orders of several lines too.
 */
export function formLineCount(): number {
  const r = Math.random()
  return r < 0.8 ? 1 : r < 0.95 ? 2 : 3
}

/** `count` different SKUs of the catalogue, at random. */
export function pickSkus(count: number): string[] {
  const left = [...skus]
  const chosen: string[] = []
  while (chosen.length < count && left.length > 0) {
    chosen.push(left.splice(Math.floor(Math.random() * left.length), 1)[0] as string)
  }
  return chosen
}

/**
 * What a browser would post from the order form, as an urlencoded body: a quantity field for
 * every product, 1 for each chosen SKU and 0 for the others.
 */
export function formBody(key: string, chosen: readonly string[]): string {
  return new URLSearchParams({
    ...Object.fromEntries(skus.map((sku) => [`qty-${sku}`, chosen.includes(sku) ? '1' : '0'])),
    ...benchCustomer(),
    idempotencyKey: key,
  }).toString()
}

/** The shopper every bench order is for, shipped to one of `states` at random. */
export function benchCustomer() {
  return {
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    address: '12 Analytical Way',
    city: 'Austin',
    state: states[Math.floor(Math.random() * states.length)] as string,
    zip: '78701',
  }
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
      body: formBody((context as Context).key ?? randomUUID(), pickSkus(formLineCount())),
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
