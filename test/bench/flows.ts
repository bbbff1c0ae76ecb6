import { randomUUID } from 'node:crypto'
import type autocannon from 'autocannon'
import { stateAddress } from '../../scripts/state-addresses.ts'
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
 * What a browser would post from the order form, as an urlencoded body, its fields in the page's
 * order: for every product (by SKU, as GET / lists them) its quantity, 1 for each chosen SKU and
 * empty for the others (as the page leaves them), and its hidden `price-<SKU>`, the price shown in cents; then the customer
 * and the form's key.
 */
export function formBody(key: string, chosen: readonly string[]): string {
  const fields = new URLSearchParams()
  for (const sku of formSkus) {
    fields.append(`qty-${sku}`, chosen.includes(sku) ? '1' : '')
    fields.append(`price-${sku}`, prices[sku] as string)
  }
  for (const [name, value] of Object.entries(benchCustomer())) fields.append(name, value)
  fields.append('idempotencyKey', key)
  return fields.toString()
}

/**
 * wrk's arguments for the scripts that post the form (form.lua): the SKUs in the form's order,
 * the states, `one` for one-line orders only, then each product's price as SKU=CENTS.
 */
export function formArgs(oneLine = false): string[] {
  return [
    formSkus.join(','),
    states.join(','),
    ...(oneLine ? ['one'] : []),
    formSkus.map((sku) => `${sku}=${prices[sku]}`).join(','),
  ]
}

/**
 * The shopper every bench order is for, shipped to one of `states` at random: to a city and ZIP
 * code of that state (scripts/state-addresses.ts), as a ZIP of another state is refused.
 */
export function benchCustomer() {
  const { code, city, zip } = stateAddress(pick(states))
  return {
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    address: '12 Analytical Way',
    city,
    state: code,
    zip,
  }
}

export const states = ['CA', 'TX', 'FL', 'NY', 'PA', 'IL', 'OH', 'GA', 'NC', 'MI', 'WA', 'VT']
// The whole catalogue: pgbench's order transaction picks among all 14 products too.
export const skus = catalogue.map((p) => p.sku)
/** The SKUs in the order the form lists them (by SKU: src/products/queries.ts listAllProducts). */
const formSkus = [...skus].sort()
/**
 * Each product's price in cents, as the form's hidden `price-<SKU>` shows it: the catalogue's,
 * which every bench database is seeded with (src/products/seed.ts, on the service's start) and
 * no bench changes. A price that differs would have its orders refused with 409.
 */
export const prices: Record<string, string> = Object.fromEntries(
  catalogue.map((p) => [p.sku, String(p.priceCents)]),
)
export const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T

/** One API order of one line, for benchCustomer(). */
export function apiOrderBody(): string {
  return JSON.stringify({ items: [{ sku: pick(skus), quantity: 1 }], customer: benchCustomer() })
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
