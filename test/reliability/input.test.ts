import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { findOrderByNumber } from '../../src/orders/queries.ts'
import { buildTestApp, type TestApp, usingPostgres } from '../helpers/context.ts'
import {
  apiOrder,
  brokenInvariants,
  formOrder,
  inhumaneMessage,
  pageMessages,
  runs,
  skus,
  storedOrders,
  timeLimit,
} from '../helpers/reliability.ts'

// Soak runs (SOAK=1, RELIABILITY_RUNS) take longer than the default 30 s.
vi.setConfig({ testTimeout: timeLimit })

// Values that have broken services before: injections, encodings, look-alikes, edge sizes.
const specimens = [
  '',
  ' ',
  '\t',
  '\n',
  '\r\n',
  '\u0000',
  'Ada\u0000Lovelace',
  '\u0007bell',
  '\u007f',
  '\ud800',
  'lone \udfff low',
  '\ufeffBOM',
  '\u202eevil\u202c',
  '\u200b',
  'e\u0301',
  'Ｆｕｌｌｗｉｄｔｈ',
  '👩‍👩‍👧‍👦',
  '𝕏𝕐ℤ',
  'ﷺ',
  "O'Brien",
  "' OR '1'='1",
  "'); drop table orders; --",
  '1; select pg_sleep(10)',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '<%= it.secret %>',
  '{{7*7}}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template injection, sent as text
  '${7*7}',
  '%00',
  '%',
  '../../etc/passwd',
  '__proto__',
  'constructor',
  'undefined',
  'null',
  'NaN',
  '[object Object]',
  '1e309',
  '-0',
  '0x10',
  ' 5 ',
  '5.5',
  '１',
]

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(...specimens),
  fc.integer({ min: 90, max: 20_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 90, max: 4_000 }).map((n) => '😀'.repeat(n)),
)

const hostileNumber = fc.oneof(
  fc.integer(),
  fc.integer({ min: -2, max: 102 }),
  fc.double(),
  fc.constantFrom(0, -1, 101, 1.5, 2 ** 31, 2 ** 53 + 1, 1e308, -1e308, Number.MIN_VALUE),
  fc.constantFrom('1e309', '-1e309', 'Infinity', '1e2', '0x10', '1_000'),
)

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileNumber },
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.array(hostileString, { maxLength: 3 }),
  fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
)

const customerFields = ['name', 'email', 'address', 'city', 'state', 'zip']
const oddKeys = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'items',
    'customer',
    'extra',
    '',
  ),
  hostileString,
)

type Json = Record<string, unknown>
type Mutation =
  | { kind: 'set'; path: (string | number)[]; value: unknown }
  | { kind: 'delete'; path: (string | number)[] }
  | { kind: 'add'; path: (string | number)[]; key: string; value: unknown }
  | { kind: 'duplicate'; key: string; value: unknown }

const paths = fc.constantFrom<(string | number)[]>(
  [],
  ['items'],
  ['items', 0],
  ['items', 1],
  ['items', 0, 'sku'],
  ['items', 0, 'quantity'],
  ['customer'],
  ...customerFields.map((f) => ['customer', f]),
)

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('set' as const), path: paths, value: hostileValue }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), path: paths }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      path: fc.constantFrom<(string | number)[]>([], ['customer'], ['items', 0]),
      key: oddKeys,
      value: hostileValue,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('duplicate' as const),
      key: fc.constantFrom('items', 'customer'),
      value: hostileValue,
    }),
  },
)

/** Applies mutations to a valid body; returns the JSON text (duplicated keys need text). */
function mutatedJson(base: Json, mutations: Mutation[]): string {
  let body: unknown = structuredClone(base)
  const duplicates: string[] = []
  const parentOf = (path: (string | number)[]) => {
    let node: unknown = body
    for (const p of path.slice(0, -1)) {
      if (node === null || typeof node !== 'object') return undefined
      node = (node as Record<string | number, unknown>)[p]
    }
    return node !== null && typeof node === 'object'
      ? (node as Record<string | number, unknown>)
      : undefined
  }
  for (const m of mutations) {
    if (m.kind === 'duplicate') {
      duplicates.push(`${JSON.stringify(m.key)}:${JSON.stringify(m.value) ?? 'null'},`)
      continue
    }
    // Generated values may be shared between runs (fc.constant): mutate copies only.
    const value = 'value' in m ? structuredClone(m.value) : undefined
    if (m.kind === 'set' && m.path.length === 0) {
      body = value
      continue
    }
    if (m.kind === 'add') {
      const target = m.path.length === 0 ? body : parentOf([...m.path, 'x'])
      if (target && typeof target === 'object')
        // defineProperty, so "__proto__" becomes an own key that JSON.stringify writes out.
        Object.defineProperty(target, m.key, {
          value,
          enumerable: true,
          configurable: true,
          writable: true,
        })
      continue
    }
    const parent = parentOf(m.path)
    const last = m.path[m.path.length - 1] as string | number
    if (!parent) continue
    if (m.kind === 'set') parent[last] = value
    else delete parent[last]
  }
  const text = JSON.stringify(body) ?? 'null'
  return duplicates.length && text.startsWith('{')
    ? `{${duplicates.join('')}${text.slice(1)}`
    : text
}

/** Bytes that are not UTF-8: lone continuation, truncated sequence, overlong, encoded surrogate. */
const invalidUtf8 = fc.constantFrom(
  [0xff],
  [0x80],
  [0xc3, 0x28],
  [0xe2, 0x82],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xfe, 0xfe, 0xff, 0xff],
)

type Corruption =
  | { kind: 'none' }
  | { kind: 'truncate'; at: number }
  | { kind: 'bytes'; at: number; bytes: readonly number[] }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'bom' }
  | { kind: 'random'; bytes: Uint8Array }

const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: 'none' as const }) },
  fc.record({
    kind: fc.constant('truncate' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('bytes' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      bytes: invalidUtf8,
    }),
  },
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    text: fc.constantFrom(',', '}', ']', '"', '\\', '\\u00', '\u0000', 'NaN', '/*', "'"),
  }),
  fc.constant({ kind: 'bom' as const }),
  fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
)

function corrupt(text: string, c: Corruption): Buffer {
  const buf = Buffer.from(text)
  const at = 'at' in c ? Math.floor(c.at * buf.length) : 0
  switch (c.kind) {
    case 'none':
      return buf
    case 'truncate':
      return buf.subarray(0, at)
    case 'bytes':
      return Buffer.concat([buf.subarray(0, at), Buffer.from(c.bytes), buf.subarray(at)])
    case 'insert':
      return Buffer.concat([buf.subarray(0, at), Buffer.from(c.text), buf.subarray(at)])
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), buf])
    case 'random':
      return Buffer.from(c.bytes)
  }
}

const jsonContentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  fc.constantFrom(
    'application/json; charset=utf-8',
    'Application/JSON',
    'application/json; charset=latin1',
    'application/json;;;',
    'application/vnd.api+json',
    'application/x-www-form-urlencoded',
    'text/plain',
    'text/html',
    'application/xml',
    'multipart/form-data; boundary=xyz',
    'application/octet-stream',
    '*/*',
    '',
    'json',
    'application/json, text/html',
  ),
  fc.constant(undefined),
)

// A small pool of keys, so some requests are replays (same body) or key reuse (other body).
const sharedKeys = ['shared-key-1', 'shared-key-2', 'shared-key-3']
const idempotencyKey = fc.oneof(
  { weight: 10, arbitrary: fc.constant('fresh') },
  { weight: 3, arbitrary: fc.constantFrom(...sharedKeys) },
  fc.constant(undefined),
  fc.constantFrom('', ' ', 'a'.repeat(201), 'key with spaces', 'ключ', 'é', '<script>', "'; --"),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }).filter((s) => !/[\r\n\0]/.test(s)),
)

const orderNumber = /^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/
const stackTrace = /\n\s+at |\bat [\w.<>]+ \(|node_modules|\/src\/[\w/-]+\.ts/

let t: TestApp
let baseline: Awaited<ReturnType<typeof storedOrders>>
let accepted = 0

beforeAll(async () => {
  t = await buildTestApp({ RATE_LIMIT_MAX: '0' })
  // Orders that exist before the attack: nothing the attack does may change them.
  for (let i = 0; i < 5; i++) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: apiOrder(i),
    })
    expect(res.statusCode).toBe(201)
  }
  baseline = await storedOrders(t.app.db)
})
afterAll(() => t?.close())

/** A placed order: well formed, totals right, and exactly what the database now holds. */
async function expectStoredOrder(order: Record<string, unknown>) {
  expect(order.orderNumber).toMatch(orderNumber)
  const items = order.items as { quantity: number; unitPriceCents: number }[]
  expect(items.length).toBeGreaterThan(0)
  expect(order.totalCents).toBe(items.reduce((s, i) => s + i.quantity * i.unitPriceCents, 0))
  const stored = await findOrderByNumber(t.app.db, order.orderNumber as string)
  expect(stored).toEqual(usingPostgres ? order : asPgliteReadsIt(order))
}

/**
 * PGlite stores a value that begins with U+FEFF intact (its bytes are right) but decodes text
 * results with a default TextDecoder, which drops a leading U+FEFF as a byte order mark. On
 * PostgreSQL the value comes back whole; docs/reliability.md lists this under known behaviour.
 */
function asPgliteReadsIt(order: Record<string, unknown>) {
  const customer = Object.fromEntries(
    Object.entries(order.customer as Record<string, string>).map(([k, v]) => [
      k,
      v.startsWith('\ufeff') ? v.slice(1) : v,
    ]),
  )
  return { ...order, customer }
}

function expectHumaneJson(res: {
  statusCode: number
  body: string
  headers: Record<string, unknown>
  raw?: { req: { url?: string } }
}) {
  // /api errors are problem details (RFC 9457), which keep statusCode, error and message; so is
  // what POST /orders tells a program of a form that is not text (orders/form-problems.ts).
  const api = String(res.raw?.req.url ?? '').startsWith('/api/')
  expect(String(res.headers['content-type'])).toMatch(
    api ? /^application\/problem\+json/ : /^application\/(problem\+)?json/,
  )
  const body = JSON.parse(res.body)
  expect(body.statusCode).toBe(res.statusCode)
  expect(typeof body.error).toBe('string')
  expect(inhumaneMessage(body.message)).toBeUndefined()
}

describe('POST /api/orders under hostile bodies', () => {
  it(`answers every generated body with an order or a clear 4xx (${runs(1500)} runs)`, async () => {
    const statuses = new Map<number, number>()
    await fc.assert(
      fc.asyncProperty(
        fc.array(mutation, { minLength: 0, maxLength: 3 }),
        fc.nat(1000),
        corruption,
        jsonContentType,
        idempotencyKey,
        async (mutations, seed, damage, contentType, key) => {
          const payload = corrupt(mutatedJson(apiOrder(seed), mutations), damage)
          const headers: Record<string, string> = {}
          if (contentType !== undefined) headers['content-type'] = contentType
          if (key !== undefined) headers['idempotency-key'] = key === 'fresh' ? randomUUID() : key
          const res = await t.app.inject({ method: 'POST', url: '/api/orders', headers, payload })
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)

          expect(res.statusCode).toBeLessThan(500)
          expect(res.body).not.toMatch(stackTrace)
          if (res.statusCode === 200 || res.statusCode === 201) {
            accepted++
            await expectStoredOrder(res.json())
            expect(res.headers.location).toBe(`/api/orders/${res.json().orderNumber}`)
          } else {
            expect(res.statusCode).toBeGreaterThanOrEqual(400)
            expectHumaneJson(res)
          }
        },
      ),
      { numRuns: runs(1500) },
    )
    // The generator must reach both sides: placed orders and every kind of refusal.
    expect(statuses.get(201) ?? 0).toBeGreaterThan(20)
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100)
    expect(statuses.get(415) ?? 0).toBeGreaterThan(5)
    expect(statuses.get(422) ?? 0).toBeGreaterThan(0)
    console.info('POST /api/orders statuses', Object.fromEntries(statuses))
  })
})

/** Form fields as pairs, so a field can be sent twice, or not at all. */
type Pairs = [string, string][]
type FormMutation =
  | { kind: 'set'; field: string; value: string }
  | { kind: 'delete'; field: string }
  | { kind: 'repeat'; field: string; value: string }
  | { kind: 'add'; key: string; value: string }

const formFields = [...skus.map((sku) => `qty-${sku}`), ...customerFields, 'idempotencyKey']
const formKeys = fc.oneof(
  fc.constantFrom(
    '__proto__',
    '__proto__[admin]',
    '__proto__.admin',
    'constructor[prototype][admin]',
    'constructor',
    'toString',
    'hasOwnProperty',
    'sku[]',
    'items[0][sku]',
    'customer[name]',
    '',
  ),
  hostileString,
)
const formMutation: fc.Arbitrary<FormMutation> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      field: fc.constantFrom(...formFields),
      value: hostileString,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      field: fc.constantFrom(...formFields),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('repeat' as const),
      field: fc.constantFrom(...formFields),
      value: hostileString,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      key: formKeys,
      value: hostileString,
    }),
  },
)

/** Percent-encodes the UTF-8 bytes (a lone surrogate becomes U+FFFD, as in a browser). */
const percent = (s: string) =>
  [...Buffer.from(s)]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).padStart(2, '0').toUpperCase()}`,
    )
    .join('')

function formBody(seed: number, mutations: FormMutation[], rawEscapes: readonly string[]): string {
  let pairs: Pairs = [...new URLSearchParams(formOrder(seed))] as Pairs
  for (const m of mutations) {
    if (m.kind === 'set') pairs = pairs.map(([k, v]) => [k, k === m.field ? m.value : v])
    else if (m.kind === 'delete') pairs = pairs.filter(([k]) => k !== m.field)
    else if (m.kind === 'repeat') pairs.push([m.field, m.value])
    else pairs.push([m.key, m.value])
  }
  const encoded = pairs.map(([k, v]) => `${percent(k)}=${percent(v)}`)
  // Escapes no browser sends: malformed (%G1, a lone %) and bytes that are not UTF-8 (%FF).
  for (const [i, raw] of rawEscapes.entries()) {
    const at = i % Math.max(encoded.length, 1)
    encoded[at] = `${encoded[at] ?? ''}${raw}`
  }
  return encoded.join('&')
}

const rawEscape = fc.constantFrom(
  '%',
  '%G1',
  '%%',
  '%FF',
  '%C3%28',
  '%ED%A0%80',
  '%C0%AF',
  '%00',
  '+',
  '&&',
  '==',
  '=',
)
const formContentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/x-www-form-urlencoded') },
  fc.constantFrom(
    'application/x-www-form-urlencoded; charset=utf-8',
    'application/x-www-form-urlencoded; charset=iso-8859-1',
    'application/json',
    'text/plain',
    'multipart/form-data; boundary=xyz',
    '',
  ),
  fc.constant(undefined),
)
const accept = fc.oneof(
  { weight: 6, arbitrary: fc.constant('text/html,application/xhtml+xml,*/*;q=0.8') },
  fc.constantFrom('*/*', 'application/json'),
  fc.constant(undefined),
)

describe('POST /orders (the form) under hostile bodies', () => {
  it(`answers every generated form with a redirect to the order or a clear 4xx (${runs(1500)} runs)`, async () => {
    const statuses = new Map<number, number>()
    await fc.assert(
      fc.asyncProperty(
        fc.nat(1000),
        fc.array(formMutation, { maxLength: 3 }),
        fc.oneof(
          { weight: 6, arbitrary: fc.constant([]) },
          fc.array(rawEscape, { minLength: 1, maxLength: 2 }),
        ),
        fc.oneof({ weight: 10, arbitrary: fc.constant(false) }, fc.constant(true)),
        invalidUtf8,
        formContentType,
        accept,
        async (seed, mutations, escapes, rawBytes, bytes, contentType, acceptHeader) => {
          let payload: string | Buffer = formBody(seed, mutations, escapes)
          // Raw (not percent-encoded) bytes that are not UTF-8, as a broken client might send.
          if (rawBytes)
            payload = Buffer.concat([Buffer.from(`${payload}&name=`), Buffer.from(bytes)])
          const headers: Record<string, string> = {}
          if (contentType !== undefined) headers['content-type'] = contentType
          if (acceptHeader !== undefined) headers.accept = acceptHeader
          const res = await t.app.inject({ method: 'POST', url: '/orders', headers, payload })
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)

          expect(res.statusCode).toBeLessThan(500)
          expect(res.body).not.toMatch(stackTrace)
          // Whatever was typed is escaped: no markup from the generator survives as markup.
          expect(res.body).not.toMatch(/<script|<img src=x|<%=/i)
          if (res.statusCode === 303) {
            accepted++
            const location = String(res.headers.location)
            expect(location).toMatch(/^\/orders\/[0-9A-Z]{5}-[0-9A-Z]{5}$/)
            const stored = await findOrderByNumber(t.app.db, location.slice('/orders/'.length))
            expect(stored).toBeDefined()
            await expectStoredOrder(stored as unknown as Record<string, unknown>)
            return
          }
          expect(res.statusCode).toBeGreaterThanOrEqual(400)
          if (String(res.headers['content-type']).startsWith('text/html')) {
            const messages = pageMessages(res.body)
            expect(messages.length).toBeGreaterThan(0)
            for (const m of messages) expect(inhumaneMessage(m)).toBeUndefined()
          } else {
            expectHumaneJson(res)
          }
        },
      ),
      { numRuns: runs(1500) },
    )
    expect(statuses.get(303) ?? 0).toBeGreaterThan(20)
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100)
    console.info('POST /orders statuses', Object.fromEntries(statuses))
  })
})

describe('text that cannot be stored as typed', () => {
  it('refuses a lone UTF-16 surrogate with 400, rather than storing U+FFFD and echoing the original', async () => {
    // Found by the property above: JSON may spell "\ud800", which UTF-8 cannot hold.
    for (const name of ['Ada \ud800', 'Ada \udfff Lovelace', '\udc00']) {
      const body = apiOrder(1)
      body.customer.name = name
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': randomUUID() },
        payload: body,
      })
      expect(res.statusCode).toBe(400)
      // Alone, nothing visible is left: refused as blank (the one text rule, src/text.ts).
      expect(res.json().message).toMatch(/customer\.name must (be a name|not be blank)/)
    }
    const emoji = apiOrder(2)
    emoji.customer.name = 'Ada 👩‍👩‍👧‍👦 𝕏'
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: emoji,
    })
    expect(res.statusCode).toBe(201)
    await expectStoredOrder(res.json())
  })
})

describe('numbers that are not numbers', () => {
  it('refuses quantities that coerce to Infinity with 400 on both routes (it was a 500)', async () => {
    // Found by the property above (SOAK=1): Ajv coerces "1e309" to Infinity and then skips
    // minimum and maximum, so the quantity reached SQL.
    for (const quantity of ['1e309', '-1e309', 'Infinity', '-Infinity', '9'.repeat(400)]) {
      const body = apiOrder(1) as { items: { sku: string; quantity: unknown }[] }
      ;(body.items[0] as { quantity: unknown }).quantity = quantity
      const api = await t.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': randomUUID() },
        payload: body,
      })
      expect(api.statusCode, quantity).toBe(400)
      expect(api.json().message).toBe('items[0].quantity must be a whole number from 1 to 100')
      const form = new URLSearchParams(formOrder(1))
      form.set('qty-TEE-002', quantity)
      const page = await t.app.inject({
        method: 'POST',
        url: '/orders',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        payload: form.toString(),
      })
      expect(page.statusCode, quantity).toBe(400)
      expect(pageMessages(page.body)).toContain(
        'Quantity of Organic Cotton Tee must be a whole number from 0 to 100.',
      )
    }
  })
})

// Capped: app.inject keeps the unread part of a refused body alive (about 2 MiB each, never
// freed in this process), so thousands of them exhaust the test's heap. The real server does
// not: 300 bodies of 2 MiB over HTTP left its heap at 36 MB (see docs/reliability.md).
const oversizedRuns = Math.min(runs(60), 600)

describe('oversized bodies', () => {
  it(`are refused with 413 and a sentence, on both routes, whatever they hold (${oversizedRuns} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 64 * 1024 + 1, max: 2 * 1024 * 1024 }),
        fc.constantFrom('/api/orders', '/orders'),
        fc.constantFrom('json', 'form', 'garbage'),
        fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain'),
        async (size, url, shape, contentType) => {
          const filler = 'A'.repeat(size)
          const payload =
            shape === 'json'
              ? JSON.stringify({ ...apiOrder(1), note: filler })
              : shape === 'form'
                ? `${formOrder(1)}&name=${filler}`
                : Buffer.alloc(size, 0xff)
          const res = await t.app.inject({
            method: 'POST',
            url,
            headers: {
              'content-type': contentType,
              'idempotency-key': randomUUID(),
              accept: '*/*',
            },
            payload,
          })
          // A type nobody parses may be refused before the size is looked at.
          expect([413, 415]).toContain(res.statusCode)
          if (contentType !== 'text/plain') expect(res.statusCode).toBe(413)
          // The form's route answers curl's */* with the error page, the API with a problem.
          if (url === '/api/orders') expectHumaneJson(res)
          else {
            expect(String(res.headers['content-type'])).toMatch(/^text\/html/)
            const [message] = pageMessages(res.body)
            expect(message).toBeDefined()
            expect(inhumaneMessage(message)).toBeUndefined()
          }
        },
      ),
      { numRuns: oversizedRuns },
    )
  })

  it('takes a body just under the limit to validation (a 400 naming the field), not a 413', async () => {
    const body = apiOrder(1)
    body.customer.name = 'N'.repeat(64 * 1024 - 400)
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: body,
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toMatch(/customer\.name/)
  })
})

describe('bodies made to be expensive', () => {
  it('answers thousands of invalid items with one short 400, not a flood of messages', async () => {
    const items = Array.from({ length: 6000 }, () => ({}))
    const started = performance.now()
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: { items, customer: apiOrder(1).customer },
    })
    const ms = performance.now() - started
    expect(res.statusCode).toBe(400)
    expectHumaneJson(res)
    expect(res.json().message).toMatch(/more problems$/)
    expect(res.body.length).toBeLessThan(2000)
    // Not a speed target (CI machines are shared and loaded): a blowup, a message per item or a
    // quadratic walk over them, takes many seconds; the bound only has to tell that from milliseconds.
    expect(ms).toBeLessThan(5000)
  })

  it('answers deeply nested JSON with a 400, not a stack overflow', async () => {
    const payload = `${'['.repeat(30_000)}${']'.repeat(30_000)}`
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
      payload,
    })
    expect(res.statusCode).toBe(400)
    expectHumaneJson(res)
  })
})

describe('after the attack', () => {
  it('holds every invariant and left the orders stored before it untouched', async () => {
    expect(accepted).toBeGreaterThan(0)
    expect(await brokenInvariants(t.app.db)).toEqual([])
    const now = await storedOrders(t.app.db)
    expect(now.slice(0, baseline.length)).toEqual(baseline)
  })
})
