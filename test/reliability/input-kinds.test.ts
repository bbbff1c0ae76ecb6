// Issue 13, items 3, 7, 8, 9 and the rate-limit half of 10: each listed input and the siblings
// of its kind, on both routes where both take it, on whichever database the suite runs.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findOrderByNumber } from '../../src/orders/queries.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { brokenInvariants, pageMessages, storedOrders } from '../helpers/reliability.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp({ RATE_LIMIT_MAX: '0' })
})
afterAll(() => t?.close())

type Body = { items: { sku: unknown; quantity: unknown }[]; customer: Record<string, unknown> }
const apiBody = (customerFields: Record<string, unknown> = {}, items?: Body['items']): Body => ({
  items: items ?? [{ sku: 'MUG-001', quantity: 1 }],
  customer: { ...customer, ...customerFields },
})
const postApi = (body: unknown, app = t.app) =>
  app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: { 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  })
const postForm = (fields: Record<string, string> = {}, app = t.app) =>
  app.inject({
    method: 'POST',
    url: '/orders',
    headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      'qty-TEE-002': '1',
      ...customer,
      idempotencyKey: randomUUID(),
      ...fields,
    }).toString(),
  })

/** The order a 303 from the form leads to, read from the database. */
async function formOrder(res: { statusCode: number; headers: Record<string, unknown> }) {
  expect(res.statusCode).toBe(303)
  const number = String(res.headers.location).split('/').pop() as string
  const order = await findOrderByNumber(t.app.db, number)
  expect(order).toBeDefined()
  return order as NonNullable<typeof order>
}
async function apiOrder(res: { statusCode: number; json: () => unknown; body: string }) {
  expect(res.statusCode, res.body).toBe(201)
  const reply = res.json() as { orderNumber: string }
  const stored = await findOrderByNumber(t.app.db, reply.orderNumber)
  expect(stored).toEqual(reply)
  return reply as NonNullable<typeof stored>
}

const labels = { name: 'Name', address: 'Street address', city: 'City' } as const
const what = { name: 'a name', address: 'a street address', city: 'a city' } as const
const textFields = Object.keys(labels) as (keyof typeof labels)[]

describe('kind 3: one Unicode rule for every free-text field, on both routes', () => {
  // Inside a value: the value is refused for what it holds.
  const hiddenInside = {
    'C0 control (BEL)': 'Ada\u0007Lovelace',
    DEL: 'Ada\u007fLovelace',
    'C1 control (CSI)': 'Ada\u009bLovelace',
    'C1 control (NEL)': 'Ada\u0085Lovelace',
    'zero-width space': 'Ada\u200bLovelace',
    'soft hyphen': 'Ada\u00adLovelace',
    'right-to-left override': 'Ada \u202eecalevoL',
    'bidi isolate': 'Ada \u2066Lovelace\u2069',
    'right-to-left mark': 'Ada\u200f Lovelace',
    'word joiner': 'Ada\u2060Lovelace',
    'BOM inside': 'Ada\ufeffLovelace',
    'tag character': 'Ada\u{e0041}',
    'line separator': 'Ada\u2028Lovelace',
    'paragraph separator': 'Ada\u2029Lovelace',
    'private use': 'Ada \ue000',
    'unassigned (plane 5)': 'Ada \u{50000}',
    'Hangul filler': 'Ada\u3164',
    'Hangul choseong filler': 'Ada\u115fLovelace',
    'Hangul jungseong filler': 'Ada\u1160Lovelace',
    'halfwidth Hangul filler': 'Ada\uffa0Lovelace',
    'Braille pattern blank': 'Ada\u2800Lovelace',
    'musical symbol null notehead': 'Ada\u{1d159}',
    'zero-width joiner beside a space': 'Ada \u200d Lovelace',
    'zero-width joiner at the end': 'Ada\u200d',
  }
  // The whole value: nothing visible is left, so it is refused as blank.
  const blank = {
    'C1 control alone': '\u009b',
    'zero-width space alone': '\u200b',
    'spaces around a zero-width space': '  \u200b  ',
    'zero-width joiner alone': '\u200d',
    'Hangul filler alone': '\u3164',
    'Hangul choseong and jungseong fillers alone': '\u115f\u1160',
    'halfwidth Hangul filler alone': '\uffa0',
    'Braille pattern blank alone': '\u2800',
    'Braille pattern blanks around a space': '\u2800 \u2800',
    'musical symbol null notehead alone': '\u{1d159}',
    'en quad to hair space (U+2000 to U+200A)':
      '\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a',
    'medium mathematical space': '\u205f',
    'no-break space': '\u00a0',
    'combining mark alone': '\u0301',
    'ideographic space': '\u3000',
    'only spaces': '   ',
    empty: '',
  }

  for (const field of textFields) {
    it(`refuses hidden characters in ${field} with 400 naming the field (API)`, async () => {
      for (const [kind, value] of Object.entries(hiddenInside)) {
        const res = await postApi(apiBody({ [field]: value }))
        expect(res.statusCode, kind).toBe(400)
        expect(res.json().message, kind).toBe(
          `customer.${field} must be ${what[field]} without control, invisible or formatting characters`,
        )
      }
    })

    it(`refuses hidden characters in ${field} with the form re-rendered (form)`, async () => {
      for (const [kind, value] of Object.entries(hiddenInside)) {
        const res = await postForm({ [field]: value })
        expect(res.statusCode, kind).toBe(400)
        expect(pageMessages(res.body), kind).toContain(
          `${labels[field]} must be ${what[field]} without control, invisible or formatting characters.`,
        )
      }
    })

    it(`refuses ${field} as blank when nothing visible is left, on both routes`, async () => {
      for (const [kind, value] of Object.entries(blank)) {
        const api = await postApi(apiBody({ [field]: value }))
        expect(api.statusCode, kind).toBe(400)
        expect(api.json().message, kind).toBe(`customer.${field} must not be blank`)
        const form = await postForm({ [field]: value })
        expect(form.statusCode, kind).toBe(400)
        expect(pageMessages(form.body), kind).toContain(`${labels[field]} must not be blank.`)
      }
    })
  }

  it('keeps joiners between letters and in emoji, and text in any script, as typed', async () => {
    const names = [
      'Ada 👩‍👩‍👧‍👦',
      '👨🏽‍💻 Grace',
      '🏳️‍🌈',
      'می‌خواهم',
      'क्‍ष',
      'Zoë Ñúñez',
      "O'Brien-Smith",
      '李小龍',
      'Ada\u00a0Lovelace',
    ]
    for (const name of names) {
      const reply = await apiOrder(await postApi(apiBody({ name })))
      expect(reply.customer.name).toBe(name)
      const stored = await formOrder(await postForm({ name }))
      expect(stored.customer.name).toBe(name)
    }
  })

  it('trims surrounding whitespace before validating and storing, on both routes', async () => {
    const typed = {
      name: '  Ada  ',
      address: '\t12 Analytical Way\u00a0',
      city: '\u3000Austin ',
      email: ' ada@example.com\n',
      state: ' TX ',
      zip: '78701 ',
    }
    const want = {
      ...customer,
      name: 'Ada',
      address: '12 Analytical Way',
      city: 'Austin',
      email: 'ada@example.com',
      state: 'TX',
      zip: '78701',
    }
    expect((await apiOrder(await postApi(apiBody(typed)))).customer).toEqual(want)
    expect((await formOrder(await postForm(typed))).customer).toEqual(want)
  })

  it('stores text in NFC: a letter and its combining accent as one character', async () => {
    const reply = await apiOrder(await postApi(apiBody({ name: 'Jose\u0301' })))
    expect(reply.customer.name).toBe('José')
    expect((await formOrder(await postForm({ city: 'Sa\u0303o Paulo' }))).customer.city).toBe(
      'São Paulo',
    )
  })
})

// NFC writes a few characters as two or three code points (composition exclusions): U+FB2C
// (Hebrew shin with dagesh and shin dot) as three, U+0958 (Devanagari qa) as two. The limits
// hold on what is stored; a value that fits as typed but not once in NFC is told so, not that
// it must be at most N characters when fewer were typed.
describe('the length of a text field, as typed and as stored (NFC)', () => {
  const limits = { name: 100, address: 200, city: 100 } as const
  const lengthened = {
    name: '\ufb2c'.repeat(34),
    address: '\ufb2c'.repeat(67),
    city: '\u0958'.repeat(51),
  }
  it.each(textFields)(
    '%s: fits as typed, longer in NFC: the message says both counts',
    async (field) => {
      const typed = lengthened[field]
      const stored = [...typed.normalize('NFC')].length
      expect([...typed].length).toBeLessThanOrEqual(limits[field])
      expect(stored).toBeGreaterThan(limits[field])
      const sentence = `must be ${what[field]} of 1 to ${limits[field]} characters as stored: the ${[...typed].length} characters typed become ${stored} in Unicode's standard form (NFC), which writes a few characters as two or three`
      const api = await postApi(apiBody({ [field]: typed }))
      expect(api.statusCode).toBe(400)
      expect(api.json().message).toBe(`customer.${field} ${sentence}`)
      expect(api.json().errors).toEqual([{ pointer: `/customer/${field}`, detail: sentence }])
      const form = await postForm({ [field]: typed })
      expect(form.statusCode).toBe(400)
      expect(pageMessages(form.body)).toContain(`${labels[field]} ${sentence}.`)
    },
  )

  it.each(textFields)(
    '%s: over the limit as typed too: the sentence and the count stored',
    async (field) => {
      // U+FB2C is three code points in NFC: limit + 3 stored.
      const typed = `${'a'.repeat(limits[field])}\ufb2c`
      const sentence = `must be ${what[field]} of 1 to ${limits[field]} characters: it has ${limits[field] + 3}`
      expect((await postApi(apiBody({ [field]: typed }))).json().message).toBe(
        `customer.${field} ${sentence}`,
      )
      expect(pageMessages((await postForm({ [field]: typed })).body)).toContain(
        `${labels[field]} ${sentence}.`,
      )
    },
  )

  it('e-mail: its spelling is never made longer, and its length is counted in characters', async () => {
    // İ lower-cased is two code points (i and a dot above): 254 typed were 255 checked, and
    // "at most 254 characters" was said of an address of 254.
    const dotted = `ada@${['x', 'y', 'z', 'w'].map((c) => c.repeat(60)).join('.')}.vvvv.\u0130`
    // 130 characters, 254 UTF-16 units and more: emoji count as one character each.
    const emoji = `ada@${'\u{1f600}'.repeat(130)}.com`
    expect([...dotted].length).toBe(254)
    for (const email of [dotted, emoji]) {
      expect([...email].length).toBeLessThanOrEqual(254)
      const api = (await postApi(apiBody({ email }))).json().message
      expect(api).toMatch(/^customer\.email must have its domain in ASCII/)
      const form = pageMessages((await postForm({ email })).body).join(' ')
      expect(form).toContain('Enter the domain in its ASCII form')
    }
  })
})

describe('kind 7: a quantity is a JSON integer in the API, decimal digits on the form', () => {
  const notIntegers: [string, string][] = [
    ['true', 'true'],
    ['false', 'false'],
    ['"0x10"', '"0x10"'],
    ['"16"', '"16"'],
    ['"1e2"', '"1e2"'],
    ['"1"', '"1"'],
    ['1.5', '1.5'],
    ['null', 'null'],
    ['[1]', '[1]'],
    ['{}', '{}'],
    ['" 5 "', '" 5 "'],
  ]
  it('refuses every non-integer quantity with 400 and the usual message (API)', async () => {
    for (const [label, json] of notIntegers) {
      const res = await postApi(
        `{"items":[{"sku":"MUG-001","quantity":${json}}],"customer":${JSON.stringify(customer)}}`,
      )
      expect(res.statusCode, label).toBe(400)
      expect(res.json().message, label).toBe(
        'items[0].quantity must be a whole number from 1 to 100',
      )
    }
  })

  it('takes a JSON integer however it is written (1e2 is the number 100)', async () => {
    const res = await postApi(
      `{"items":[{"sku":"MUG-001","quantity":1e2}],"customer":${JSON.stringify(customer)}}`,
    )
    expect((await apiOrder(res)).items[0]?.quantity).toBe(100)
  })

  // JSON.parse rounds each of these to the nearest double, an integer (100, 1, 0, 1, 0):
  // 99.9999999999999999 was an order for 100 units. What the client wrote is not an integer.
  const roundedToIntegers = [
    '99.9999999999999999',
    '1.00000000000000001',
    '1e-400',
    '0.99999999999999999',
    '-1e-400',
    '1000000000000000000001e-21',
  ]
  it('refuses a quantity written as a non-integer that JSON.parse rounds to one, as 1.5 (API)', async () => {
    const sent = (quantity: string) =>
      postApi(
        `{"items":[{"sku":"MUG-001","quantity":${quantity}}],"customer":${JSON.stringify(customer)}}`,
      )
    const refusal = (await sent('1.5')).json().message
    expect(refusal).toBe('items[0].quantity must be a whole number from 1 to 100')
    const before = await storedOrders(t.app.db)
    for (const quantity of roundedToIntegers) {
      const res = await sent(quantity)
      expect(res.statusCode, quantity).toBe(400)
      expect(res.json().message, quantity).toBe(refusal)
    }
    // The same rule for every integer a body holds: a line's unitPriceCents too (the price now,
    // give or take 10^-17 of a cent).
    const products = (await t.app.inject({ url: '/api/products' })).json()
    const cents = products.find((p: { sku: string }) => p.sku === 'MUG-001').priceCents
    const mispriced = await postApi(
      `{"items":[{"sku":"MUG-001","quantity":1,"unitPriceCents":${cents}.00000000000000001}],"customer":${JSON.stringify(customer)}}`,
    )
    expect(mispriced.statusCode).toBe(400)
    expect(mispriced.json().message).toBe(
      'items[0].unitPriceCents must be a whole number of cents from 1 to 10,000,000',
    )
    expect(await storedOrders(t.app.db)).toEqual(before)
  })

  it('takes an integer written with a fraction or an exponent (1.0, 1e0) as that integer', async () => {
    for (const quantity of ['1.0', '1e0', '100.000e-2', '0.1e1', '10E-1', '1.5e1']) {
      const res = await postApi(
        `{"items":[{"sku":"MUG-001","quantity":${quantity}}],"customer":${JSON.stringify(customer)}}`,
      )
      const units = quantity === '1.5e1' ? 15 : 1
      expect((await apiOrder(res)).items[0]?.quantity, quantity).toBe(units)
    }
  })

  it('places an order whose text holds decimals and exponents as typed ("12.5 Main St")', async () => {
    const typed = { address: '12.5 Main St', name: 'Ada 1.00000000000000001e-400' }
    const reply = await apiOrder(await postApi(apiBody(typed)))
    expect(reply.customer).toMatchObject(typed)
    expect(reply.items[0]?.quantity).toBe(1)
  })

  it('refuses anything but decimal digits from 0 to 100 on the form', async () => {
    for (const quantity of ['0x10', '1e1', '1.0', '+5', '-1', '101', '１', '5abc', 'true', '1_0']) {
      const res = await postForm({ 'qty-TEE-002': quantity })
      expect(res.statusCode, quantity).toBe(400)
      expect(pageMessages(res.body), quantity).toContain(
        'Quantity of Organic Cotton Tee must be a whole number from 0 to 100.',
      )
    }
    // 0 and an emptied field are a product not chosen: with none chosen, no order.
    for (const quantity of ['0', '', ' 00 ']) {
      const res = await postForm({ 'qty-TEE-002': quantity })
      expect(res.statusCode, quantity).toBe(400)
      expect(pageMessages(res.body), quantity).toContain(
        'Choose at least one product: give it a quantity of 1 or more.',
      )
    }
  })

  it('takes digits on the form, with surrounding spaces trimmed and leading zeros read as decimal', async () => {
    for (const [quantity, units] of [
      ['16', 16],
      [' 5 ', 5],
      ['010', 10],
      ['100', 100],
    ] as const) {
      const order = await formOrder(await postForm({ 'qty-TEE-002': quantity }))
      expect(order.items[0]?.quantity, quantity).toBe(units)
    }
  })
})

describe('kind 8: limits hold on what is stored, after lines of one product are merged', () => {
  const orders = async () => (await storedOrders(t.app.db)).length

  it('refuses twenty lines of 100 units of one product (2,000 units) with 400, taking nothing', async () => {
    const before = await orders()
    const cases: [string, Body['items'], string][] = [
      [
        '20 × 100',
        Array.from({ length: 20 }, () => ({ sku: 'MUG-001', quantity: 100 })),
        'items: MUG-001 comes to 2000 units over 20 lines; the quantity of one product must be a whole number from 1 to 100',
      ],
      [
        '51 + 50',
        [
          { sku: 'TEE-002', quantity: 51 },
          { sku: 'CAP-003', quantity: 1 },
          { sku: 'TEE-002', quantity: 50 },
        ],
        'items: TEE-002 comes to 101 units over 2 lines; the quantity of one product must be a whole number from 1 to 100',
      ],
      [
        'one SKU in two spellings',
        [
          { sku: 'mug-001', quantity: 60 },
          { sku: ' MUG-001', quantity: 60 },
        ],
        'items: MUG-001 comes to 120 units over 2 lines; the quantity of one product must be a whole number from 1 to 100',
      ],
    ]
    for (const [label, items, message] of cases) {
      const res = await postApi(apiBody({}, items))
      expect(res.statusCode, label).toBe(400)
      expect(res.json().message, label).toBe(message)
    }
    expect(await orders()).toBe(before)
    expect(await brokenInvariants(t.app.db)).toEqual([])
  })

  it('places lines that merge to exactly the limit, as one line', async () => {
    const reply = await apiOrder(
      await postApi(
        apiBody({}, [
          { sku: 'BAG-004', quantity: 40 },
          { sku: 'BAG-004', quantity: 60 },
        ]),
      ),
    )
    expect(reply.items).toEqual([expect.objectContaining({ sku: 'BAG-004', quantity: 100 })])
  })
})

describe('kind 9: codes and identifiers in their usual spellings', () => {
  it('takes a state code in any case, with spaces, on both routes; refuses a wrong one', async () => {
    for (const state of ['tx', 'Tx', ' TX ', 'tX\t']) {
      expect((await apiOrder(await postApi(apiBody({ state })))).customer.state, state).toBe('TX')
      expect((await formOrder(await postForm({ state }))).customer.state, state).toBe('TX')
    }
    for (const state of ['TEXAS', 'XX', 'T X', '']) {
      const res = await postApi(apiBody({ state }))
      expect(res.statusCode, state).toBe(400)
      expect(res.json().message).toBe(
        'customer.state must be one of the 50 states or DC, as its 2-letter code like CA or NY',
      )
    }
  })

  it('takes a SKU in any case, with spaces, on both routes', async () => {
    const reply = await apiOrder(await postApi(apiBody({}, [{ sku: ' mug-001 ', quantity: 1 }])))
    expect(reply.items[0]?.sku).toBe('MUG-001')
    const lower = await postForm({ 'qty-TEE-002': '0', 'qty-mug-001': '1' })
    expect((await formOrder(lower)).items[0]?.sku).toBe('MUG-001')
    // One product's field in two spellings is that field given twice, not two lines.
    const both = await postForm({ 'qty-TEE-002': '0', 'qty-tee-002': '1' })
    expect(both.statusCode).toBe(400)
    expect(both.body).toContain('Quantity of Organic Cotton Tee must be given once.')
    // Only ASCII is folded, as on the form: the long s (ſ) upper-cases to S, the Kelvin sign
    // lower-cases to k; neither names SCK-010 or a K… SKU.
    for (const sku of ['\u017fck-010', 'mug-001\u212a', 'M\u00dcG-001']) {
      const res = await postApi(apiBody({}, [{ sku, quantity: 1 }]))
      expect(res.statusCode, sku).toBe(400)
      expect(res.json().errors?.[0]?.pointer, sku).toBe('/items/0/sku')
    }
  })

  it('reads a tab in a name, street or city as a space (pasted from a spreadsheet)', async () => {
    const fields = { name: 'Ada\tLovelace', address: '1\tMain St', city: '\tAustin\t' }
    const api = (await apiOrder(await postApi(apiBody(fields)))).customer
    expect([api.name, api.address, api.city]).toEqual(['Ada Lovelace', '1 Main St', 'Austin'])
    const form = (await formOrder(await postForm(fields))).customer
    expect([form.name, form.address, form.city]).toEqual(['Ada Lovelace', '1 Main St', 'Austin'])
    // Other control characters are still refused, by name.
    expect((await postApi(apiBody({ name: 'Ada\nLovelace' }))).statusCode).toBe(400)
  })

  it('writes ZIP+4 one way, and the e-mail domain in lower case', async () => {
    for (const [zip, want] of [
      ['78701 1234', '78701-1234'],
      ['787011234', '78701-1234'],
      ['78701 - 1234', '78701-1234'],
      // A word processor's dashes, and an East Asian keyboard's fullwidth digits and hyphen.
      ['78701\u20131234', '78701-1234'],
      ['78701 \u2014 1234', '78701-1234'],
      ['78701\u22121234', '78701-1234'],
      ['\uff17\uff18\uff17\uff10\uff11', '78701'],
      ['\uff17\uff18\uff17\uff10\uff11\uff0d\uff11\uff12\uff13\uff14', '78701-1234'],
    ]) {
      expect((await apiOrder(await postApi(apiBody({ zip })))).customer.zip, zip).toBe(want)
    }
    expect((await formOrder(await postForm({ zip: '78701\u20131234' }))).customer.zip).toBe(
      '78701-1234',
    )
    // Other digits are not ZIP digits (Arabic-Indic ٧٨٧٠١), nor is a dash with nothing after it.
    for (const zip of [
      '7870',
      '78701-123',
      'ABCDE',
      '\u0667\u0668\u0667\u0660\u0661',
      '78701\u2013',
    ]) {
      expect((await postApi(apiBody({ zip }))).statusCode, zip).toBe(400)
    }
    const email = 'Ada.Lovelace@Example.COM'
    expect((await apiOrder(await postApi(apiBody({ email })))).customer.email).toBe(
      'Ada.Lovelace@example.com',
    )
    expect((await formOrder(await postForm({ email }))).customer.email).toBe(
      'Ada.Lovelace@example.com',
    )
  })

  it('reads the insights API for a state code in any case', async () => {
    for (const state of ['tx', 'Tx', '%20tx%20']) {
      const top = await t.app.inject(`/api/states/${state}/top-products`)
      expect(top.statusCode, state).toBe(200)
      expect(top.json().state).toBe('TX')
      const insights = await t.app.inject(`/api/insights/${state}`)
      expect(insights.statusCode, state).toBe(200)
      expect(insights.json().state).toBe('TX')
    }
    expect((await t.app.inject('/api/insights/XX')).statusCode).toBe(400)
  })

  it('redirects an order number typed loosely, or with a trailing slash, to its canonical page', async () => {
    const { orderNumber } = await apiOrder(await postApi(apiBody()))
    const canonical = `/orders/${orderNumber}`
    const loose = orderNumber.toLowerCase()
    const spellings = [
      `${canonical}/`,
      `/orders/${loose}`,
      `/orders/${loose}/`,
      `/orders/${orderNumber.replace('-', '')}`,
      `/orders/${orderNumber.replaceAll('1', 'l').replaceAll('0', 'O')}`,
    ].filter((url) => url !== canonical)
    for (const url of spellings) {
      let res = await t.app.inject({ url, headers: { accept: 'text/html' } })
      // At most two hops: the slash, then the spelling.
      if (res.statusCode === 301 && res.headers.location !== canonical)
        res = await t.app.inject({ url: String(res.headers.location) })
      expect(res.statusCode, url).toBe(301)
      expect(res.headers.location, url).toBe(canonical)
    }
    const api = await t.app.inject(`/api/orders/${loose.replace('-', '')}`)
    expect(api.statusCode).toBe(200)
    expect(api.json().orderNumber).toBe(orderNumber)
    // A number that does not exist is a 404, whatever its spelling: no redirect tells it apart.
    expect((await t.app.inject('/orders/zzzzz-zzzzz')).statusCode).toBe(404)
  })

  it('redirects any page URL with a trailing slash to the one without, keeping the query', async () => {
    for (const [url, location] of [
      ['/insights/', '/insights'],
      ['/insights/TX/', '/insights/TX'],
      ['/insights/?from=map', '/insights?from=map'],
      ['/api/products/', '/api/products'],
    ]) {
      const res = await t.app.inject({ url, headers: { accept: 'text/html' } })
      expect(res.statusCode, url).toBe(301)
      expect(res.headers.location, url).toBe(location)
    }
    // Only to a page that exists, and never off the site. (app.inject reads `/\host/` as a URL
    // with a host, so that spelling is covered by the code's guard, not here.)
    for (const url of ['/nothing/', '//evil.example/', '//evil.example/orders/', '///']) {
      const res = await t.app.inject({ url, headers: { accept: 'text/html' } })
      expect(res.statusCode, url).toBe(404)
    }
  })
})

describe('kind 10 (rate limit): a refused form keeps what was typed and says why', () => {
  let limited: TestApp
  beforeAll(async () => {
    limited = await buildTestApp({ RATE_LIMIT_MAX: '2' })
  })
  afterAll(() => limited?.close())

  it('answers the form over the limit with 429, the form with every value, and the reason', async () => {
    expect((await postApi(apiBody(), limited.app)).statusCode).toBe(201)
    expect((await postForm({}, limited.app)).statusCode).toBe(303)
    const typed = {
      'qty-TEE-002': '0',
      'qty-CAP-003': '7',
      name: 'Grace Hopper',
      email: 'grace@example.com',
      address: '1 Compiler Road',
      city: 'Arlington',
      state: 'VA',
      zip: '22201',
    }
    const res = await postForm(typed, limited.app)
    expect(res.statusCode).toBe(429)
    expect(String(res.headers['content-type'])).toMatch(/^text\/html/)
    const seconds = Number(res.headers['retry-after'])
    expect(seconds).toBeGreaterThan(0)
    expect(pageMessages(res.body)).toContain(
      `Too many orders from your address: at most 2 a minute. Please try again in ${seconds} seconds.`,
    )
    expect(res.body).toContain('<form method="post" action="/orders"')
    for (const field of ['name', 'email', 'address', 'city', 'zip'] as const)
      expect(res.body).toContain(`value="${typed[field]}"`)
    expect(res.body).toMatch(/name="qty-CAP-003"[^>]* value="7"/)
    expect(res.body).toMatch(/value="VA" selected/)

    const api = await postApi(apiBody(), limited.app)
    expect(api.statusCode).toBe(429)
    const message = `Too many orders from your address: at most 2 a minute. Please try again in ${api.headers['retry-after']} seconds.`
    expect(api.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(api.json()).toEqual({
      type: 'tag:order-service.example,2026:problems/rate-limited',
      title: 'Too Many Requests',
      status: 429,
      detail: message,
      statusCode: 429,
      error: 'Too Many Requests',
      message,
    })
  })
})
