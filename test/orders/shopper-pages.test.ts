// What the shopper's pages say, as the server writes them: quantities that start empty, the
// error summary of a refused form, an e-mail message for what is wrong with the address, and a
// plain 404 for an order number too long to be one.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { escapeHtml } from '../../src/text.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t?.close())

const html = { accept: 'text/html' }
const submitForm = (fields: Record<string, string>) =>
  t.app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...html, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  })

/** The fields a browser posts from `page`'s form (named inputs and selects not disabled). */
function pageFields(page: string): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const [, attrs = ''] of page.matchAll(/<(?:input|select)\b([^>]*)>/g)) {
    const name = /\sname="([^"]*)"/.exec(attrs)?.[1]
    if (name && !/\sdisabled\b/.test(attrs))
      fields[name] = /\svalue="([^"]*)"/.exec(attrs)?.[1] ?? ''
  }
  return fields
}

/** The error summary's entries: each link's target and text, or the text of one without. */
const summaryOf = (page: string) => {
  const summary = /<div class="error-summary"[\s\S]*?<\/ul>/.exec(page)?.[0] ?? ''
  return [...summary.matchAll(/<li>(?:<a href="([^"]*)">)?([^<]*)/g)].map(([, href, text]) =>
    href === undefined ? [text] : [href, text],
  )
}

describe('the order form', () => {
  it('starts every quantity empty, 0 its placeholder, so what is typed is the quantity', async () => {
    const res = await t.app.inject({ url: '/', headers: html })
    const quantities = [...res.body.matchAll(/<input id="qty-[^>]*>/g)].map((m) => m[0])
    expect(quantities.length).toBeGreaterThanOrEqual(12)
    for (const input of quantities) {
      expect(input).toContain('placeholder="0"')
      // Sold out or off sale: disabled (never sent), shown at 0.
      expect(input).toMatch(/disabled>$/.test(input) ? / value="0"/ : / value=""/)
    }
  })

  it('orders the products given a quantity; the others, sent blank, are none', async () => {
    const page = await t.app.inject({ url: '/', headers: html })
    const fields: Record<string, string> = {
      ...pageFields(page.body),
      ...customer,
      'qty-MUG-001': '2',
    }
    expect(fields['qty-TEE-002']).toBe('')
    const res = await submitForm(fields)
    expect(res.statusCode).toBe(303)
    const order = (await t.app.inject({ url: `/api${res.headers.location}` })).json()
    expect(order.items.map((i: { sku: string; quantity: number }) => [i.sku, i.quantity])).toEqual([
      ['MUG-001', 2],
    ])
  })

  it('refuses a form with every quantity blank (400), keeping what was typed', async () => {
    const page = await t.app.inject({ url: '/', headers: html })
    const fields: Record<string, string> = {
      ...pageFields(page.body),
      ...customer,
      name: 'Ada Blank',
    }
    const res = await submitForm(fields)
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain('Choose at least one product: give it a quantity of 1 or more.')
    expect(res.body).toContain('value="Ada Blank"')
    expect(res.body).toMatch(/<input id="qty-MUG-001"[^>]* value=""/)
    expect(res.body).toContain(`value="${fields.idempotencyKey}"`)
    // A bad quantity next to blank ones: its message, and the blank ones stay blank.
    const bad = await submitForm({ ...fields, 'qty-TEE-002': '2.5' })
    expect(bad.statusCode).toBe(400)
    expect(bad.body).toMatch(/<input id="qty-TEE-002"[^>]* value="2.5"/)
    expect(bad.body).toMatch(/<input id="qty-MUG-001"[^>]* value=""/)
  })
})

describe('a refused form', () => {
  it('opens with a focused summary of its errors, each linking to its field, and says Error in its title', async () => {
    const page = await t.app.inject({ url: '/', headers: html })
    const fields: Record<string, string> = {
      ...pageFields(page.body),
      ...customer,
      email: 'ada@',
      zip: '',
    }
    fields['qty-BLK-007'] = 'x'
    const res = await submitForm(fields)
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain('<title>Error: Order · Trailhead Goods</title>')
    expect(res.body).toMatch(
      /<div class="error-summary" id="error-summary" tabindex="-1" autofocus>/,
    )
    expect(summaryOf(res.body)).toEqual([
      ['#qty-BLK-007', 'Quantity of Wool Blanket must be a whole number from 0 to 100.'],
      ['#email', 'Enter an e-mail address like name@example.com.'],
      ['#zip', 'ZIP code must be a 5-digit ZIP code, like 94107 or 94107-1234.'],
    ])
    // Each field keeps its own message, as its description.
    expect(res.body).toMatch(
      /<input id="email"[^>]* aria-invalid="true" aria-describedby="email-error">/,
    )
    expect(res.body).toContain('<p class="field-error" id="email-error">')
    expect(res.body.match(/role="alert"/g)).toHaveLength(1)
    // The blank form has none of it.
    expect(page.body).not.toContain('error-summary')
    expect(page.body).toContain('<title>Order · Trailhead Goods</title>')
  })

  it('summarises a damaged form without a link, and a notice above the list', async () => {
    const res = await submitForm({ 'qty-MUG-001': '1', ...customer, idempotencyKey: 'nope' })
    expect(res.statusCode).toBe(400)
    expect(summaryOf(res.body)).toEqual([
      ['This form is missing or damaged; reload the page and submit again.'],
    ])
    const key = randomUUID()
    const first = await submitForm({ 'qty-MUG-001': '1', ...customer, idempotencyKey: key })
    expect(first.statusCode).toBe(303)
    const reused = await submitForm({ 'qty-MUG-001': '2', ...customer, idempotencyKey: key })
    expect(reused.statusCode).toBe(422)
    expect(reused.body).toContain('<title>Error: Order · Trailhead Goods</title>')
    // The order placed is linked and said to stand, so an edit during a slow submit does not
    // lead to a second order unseen (a review); its cookie again, as the first answer may be lost.
    const location = first.headers.location as string
    expect(reused.body).toMatch(
      /<div class="error-summary" id="error-summary" tabindex="-1" autofocus>[\s\S]*This form already placed order <a href="([^"]+)" class="order-number">/,
    )
    expect(reused.body).toContain(
      `This form already placed order <a href="${location}" class="order-number">${location.slice('/orders/'.length)}</a>, which stands as it was placed: what you changed since was not added to it.`,
    )
    expect(String(reused.headers['set-cookie'])).toContain(`order_key=${key}`)
  })
})

describe("the form's length messages", () => {
  const post = (name: string) =>
    submitForm({ 'qty-MUG-001': '1', ...customer, name, idempotencyKey: randomUUID() })
  const nameError = (body: string) =>
    /<p class="field-error" id="name-error">([^<]*)<\/p>/.exec(body)?.[1]

  it('say how long a text over its limit is, in characters after NFC', async () => {
    // 26 "Zoé " typed with a combining accent, and "abc": 133 code points typed, 107 stored.
    const res = await post(`${'Zoe\u0301 '.repeat(26)}abc`)
    expect(res.statusCode).toBe(400)
    expect(nameError(res.body)).toBe('Name must be a name of 1 to 100 characters: it has 107.')
    const api = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: {
        items: [{ sku: 'MUG-001', quantity: 1 }],
        customer: { ...customer, name: 'c'.repeat(101) },
      },
    })
    expect(api.json().message).toBe(
      'customer.name must be a name of 1 to 100 characters: it has 101',
    )
  })

  it('tell a name cut inside an emoji sequence (a joiner left at its end) that it is too long', async () => {
    // What a browser's maxlength of 400 leaves of 60 families of four (11 UTF-16 units each).
    const cut = '👨\u200d👩\u200d👧\u200d👦'.repeat(60).slice(0, 399)
    const res = await post(cut)
    expect(res.statusCode).toBe(400)
    expect(nameError(res.body)).toMatch(
      /^Name must be a name of 1 to 100 characters: it has \d+\.$/,
    )
  })
})

describe("the form's e-mail messages", () => {
  const like = 'like name@example.com'
  // The address, the form's message by its field and the API's sentence: each says what is wrong
  // with that address, not every rule at once (a newcomer's review: `a@@b` was told about 64
  // characters before the @).
  const cases: [string, string, string][] = [
    ['', 'Enter your e-mail address.', `must be an e-mail address ${like}`],
    ['   ', 'Enter your e-mail address.', `must be an e-mail address ${like}`],
    ['ada@', `Enter an e-mail address ${like}.`, `must be an e-mail address ${like}`],
    [
      'ada@example',
      `Enter an e-mail address whose domain has a dot, ${like}.`,
      `must have a dot in its domain, ${like}`,
    ],
    // What the email format takes only in quotes, or not at all: named.
    [
      '(ada)@example.com',
      "Enter an e-mail address with only letters, digits, dots and ! # $ % & ' * + - / = ? ^ _ ` { | } ~ before the @: ( is not one.",
      "must have only letters, digits, dots and ! # $ % & ' * + - / = ? ^ _ ` { | } ~ before the @: ( is not one",
    ],
    [
      'ada@example..com',
      `Enter an e-mail address whose domain neither starts nor ends with a dot, nor has two in a row, ${like}.`,
      `must have a domain that neither starts nor ends with a dot, nor has two in a row, ${like}`,
    ],
    ['ada.example.com', `Enter an e-mail address ${like}.`, `must be an e-mail address ${like}`],
    ['a@@b', `Enter an e-mail address with one @, ${like}.`, `must have one @, ${like}`],
    [
      'ada lace@example.com',
      `Enter an e-mail address without spaces, ${like}.`,
      `must not contain spaces, ${like}`,
    ],
    [
      'ada@bücher.de',
      'Enter the domain in its ASCII form: xn--bcher-kva.de for bücher.de.',
      'must have its domain in ASCII: write bücher.de as xn--bcher-kva.de',
    ],
    [
      'adä@example.com',
      'Enter an e-mail address with only ASCII characters before the @: ä (U+00E4) is not.',
      'must have only ASCII characters before the @: ä (U+00E4) is not',
    ],
    // ASCII, but not printing: named as what they are, not as "not ASCII".
    [
      'a\u0001b@example.com',
      'Enter an e-mail address without control characters: U+0001 is one.',
      'must not contain control characters: U+0001 is one',
    ],
    [
      'ada@exa\u007fmple.com',
      'Enter an e-mail address without control characters: U+007F is one.',
      'must not contain control characters: U+007F is one',
    ],
    [
      `${'a'.repeat(65)}@example.com`,
      'Enter an e-mail address with at most 64 characters before the @.',
      'may have at most 64 characters before the @',
    ],
    [
      `ada@${'a'.repeat(250)}.com`,
      'Enter an e-mail address of at most 254 characters.',
      'must be at most 254 characters long',
    ],
  ]
  it('say what is wrong with the address, on the form and in the API', async () => {
    for (const [email, message, sentence] of cases) {
      const res = await submitForm({
        'qty-MUG-001': '1',
        ...customer,
        email,
        idempotencyKey: randomUUID(),
      })
      expect(res.statusCode, email).toBe(400)
      expect(res.body, email).toContain(
        `<p class="field-error" id="email-error">${escapeHtml(message)}</p>`,
      )
      const api = await t.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': randomUUID() },
        payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer: { ...customer, email } },
      })
      expect(api.statusCode, email).toBe(400)
      expect(api.json().message, email).toBe(`customer.email ${sentence}`)
      expect(api.json().errors, email).toEqual([{ pointer: '/customer/email', detail: sentence }])
    }
    // Given twice is still that.
    const twice = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { ...html, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `qty-MUG-001=1&name=A&email=a%40b.co&email=c%40d.co&address=1+A&city=B&state=TX&zip=78701&idempotencyKey=${randomUUID()}`,
    })
    expect(twice.statusCode).toBe(400)
    expect(twice.body).toContain('E-mail must be given once.')
  })
})

describe("the form's state message", () => {
  it('asks to choose a state when the list is left at Choose…, and names the codes only for one the list never sends', async () => {
    const left = await submitForm({
      'qty-MUG-001': '1',
      ...customer,
      state: '',
      idempotencyKey: randomUUID(),
    })
    expect(left.statusCode).toBe(400)
    expect(left.body).toContain('<p class="field-error" id="state-error">Choose your state.</p>')
    expect(summaryOf(left.body)).toContainEqual(['#state', 'Choose your state.'])
    const edited = await submitForm({
      'qty-MUG-001': '1',
      ...customer,
      state: 'ZZ',
      idempotencyKey: randomUUID(),
    })
    expect(edited.body).toContain(
      'id="state-error">State must be one of the 50 states or DC, as its 2-letter code like CA or NY.</p>',
    )
  })
})

describe('an order number too long to be one', () => {
  it('is the unknown order page for a shopper, and the documented 400 on the API', async () => {
    const long = 'A'.repeat(33)
    const res = await t.app.inject({ url: `/orders/${long}`, headers: html })
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toContain('text/html')
    expect(res.body).toContain(`We could not find order ${long}.`)
    expect(res.body).not.toContain('characters long')
    const api = await t.app.inject({ url: `/api/orders/${long}` })
    expect(api.statusCode).toBe(400)
    expect(api.json().message).toBe('orderNumber must be at most 32 characters long')
  })
})
