import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { damagedForm, labels } from '../../src/orders/form-values.ts'
import { parseForm } from '../../src/plugins/body-parsers.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { inhumaneMessage, pageMessages } from '../helpers/reliability.ts'

// Issue 13, item 4: a form body is decoded from the charset it declares, or refused with a 4xx
// that says why; bytes the shopper did not type are never stored.

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t?.close())

const html = { accept: 'text/html' }

/** The order form's fields, urlencoded by hand so a test can put any escape in a value. */
function formBody(raw: Record<string, string>): { body: string; key: string } {
  const key = randomUUID()
  const fields: Record<string, string> = {
    'qty-MUG-001': '1',
    ...Object.fromEntries(
      Object.entries(customer).map(([k, v]) => [k, encodeURIComponent(v).replace(/%20/g, '+')]),
    ),
    idempotencyKey: key,
    ...raw,
  }
  return {
    body: Object.entries(fields)
      .map(([k, v]) => `${k}=${v}`)
      .join('&'),
    key,
  }
}

const post = (url: string, contentType: string, body: string | Buffer, accept = html) =>
  t.app.inject({ method: 'POST', url, headers: { ...accept, 'content-type': contentType }, body })

const storedName = async (key: string) =>
  (
    await t.app.db
      .selectFrom('orders')
      .select(['customer_name', 'address', 'city'])
      .where('idempotency_key', 'in', [key, `form:${key}`])
      .executeTakeFirst()
  )?.customer_name

const form = 'application/x-www-form-urlencoded'

describe('the order form decodes the charset it declares', () => {
  it.each([
    ['ISO-8859-1', 'Jos%E9+Ruiz', 'José Ruiz'],
    ['iso-8859-1', 'Fran%E7ois+M%FCller', 'François Müller'],
    ['latin1', 'Jos%E9+Ruiz', 'José Ruiz'],
    ['windows-1252', 'Jos%E9+%80uro', 'José €uro'],
    ['utf-8', 'Jos%C3%A9+Ruiz', 'José Ruiz'],
    ['UTF-8', '%F0%9F%98%80+Ada', '😀 Ada'],
    ['"utf-8"', 'Jos%C3%A9', 'José'],
    ['shift_jis', '%93%FA%96%7B', '日本'],
  ])('charset=%s: %s is stored as %s', async (charset, raw, expected) => {
    const { body, key } = formBody({ name: raw })
    const res = await post('/orders', `${form}; charset=${charset}`, body)
    expect(res.statusCode, res.body.slice(0, 500)).toBe(303)
    expect(await storedName(key)).toBe(expected)
  })

  it('no charset declared is UTF-8, the encoding of the form page', async () => {
    const { body, key } = formBody({ name: 'Jos%C3%A9+Ruiz' })
    expect((await post('/orders', form, body)).statusCode).toBe(303)
    expect(await storedName(key)).toBe('José Ruiz')
  })

  it('raw (unescaped) bytes are decoded in the declared charset too', async () => {
    const { body, key } = formBody({ name: 'NAME' })
    const bytes = Buffer.from(body, 'latin1')
    const at = bytes.indexOf('NAME')
    const latin1 = Buffer.concat([
      bytes.subarray(0, at),
      Buffer.from('Jos\xe9', 'latin1'),
      bytes.subarray(at + 4),
    ])
    expect((await post('/orders', `${form}; charset=iso-8859-1`, latin1)).statusCode).toBe(303)
    expect(await storedName(key)).toBe('José')
  })
})

describe('what is not text in the declared charset is refused, never stored', () => {
  it.each([
    ['utf-8', 'Bad%C3%28x'],
    ['utf-8', 'Jos%E9+Ruiz'], // Latin-1 bytes sent as UTF-8
    ['utf-8', '%ED%A0%80'], // a UTF-16 surrogate encoded in UTF-8
    ['utf-8', '%C0%AF'], // an overlong encoding of "/"
    ['utf-8', '%FF'],
    ['shift_jis', '%82'], // a lead byte without its trail
  ])('charset=%s, name=%s: the form again (400), a message by that field', async (charset, raw) => {
    const { body, key } = formBody({ name: raw })
    const res = await post('/orders', `${form}; charset=${charset}`, body)
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    const [message] = pageMessages(res.body)
    expect(inhumaneMessage(message)).toBeUndefined()
    expect(message).toBe(`${labels.name} could not be read as text; please type it again.`)
    expect(await storedName(key)).toBeUndefined()
  })

  // Was the generic error page: the whole form lost for one field's bytes (a review).
  it('keeps what was typed in the other fields, and the form placed once when sent again', async () => {
    for (const [field, raw] of [
      ['name', '%FF%FE'],
      ['name', '%C3'],
      ['address', 'Bad%C3%28x'],
      ['city', 'Bad%C3%28x'],
      ['zip', '%ED%A0%80'],
      ['email', '%C0%AF'],
      ['qty-MUG-001', '%FF'],
    ] as const) {
      const { body, key } = formBody({ [field]: raw })
      const res = await post('/orders', form, body)
      expect(res.statusCode, `${field}=${raw}`).toBe(400)
      const label = field === 'qty-MUG-001' ? 'Quantity of Enamel Camp Mug' : labels[field]
      expect(pageMessages(res.body)).toContain(
        `${label} could not be read as text; please type it again.`,
      )
      expect(res.body).toContain(`aria-invalid="true"`)
      // The other fields as typed, the unreadable one empty, the same key.
      for (const [other, value] of Object.entries({ ...customer, 'qty-MUG-001': '1' })) {
        if (other === 'state') continue // a list, not a box
        const shown = other === field ? '' : value
        expect(res.body, other).toMatch(new RegExp(`name="${other}"[^>]*value="${shown}"`))
      }
      expect(res.body).toContain(`name="idempotencyKey" value="${key}"`)
      expect(await storedName(key)).toBeUndefined()
      const again = formBody({})
      const fixed = again.body.replace(again.key, key)
      expect((await post('/orders', form, fixed)).statusCode).toBe(303)
      expect((await post('/orders', form, fixed)).statusCode).toBe(303)
      const placed = await t.app.db
        .selectFrom('orders')
        .select('order_number')
        .where('idempotency_key', '=', `form:${key}`)
        .execute()
      expect(placed).toHaveLength(1)
    }
  })

  it('a hidden field or a name that is not text: the form again, said damaged, nothing stored', async () => {
    for (const [raw, message] of [
      [{ idempotencyKey: '%FF' }, damagedForm],
      [{ 'price-MUG-001': '%FF' }, damagedForm],
      // Read again into an object that inherits nothing: `__proto__` is just a field there too.
      [
        { ['__proto__']: '%FF' },
        'Part of this form could not be read as text; please check it and send it again.',
      ],
      [
        { '%C3': 'x' },
        'Part of this form could not be read as text; please check it and send it again.',
      ],
    ] as const) {
      const { body, key } = formBody(raw)
      const res = await post('/orders', form, body)
      expect(res.statusCode, JSON.stringify(raw)).toBe(400)
      expect(pageMessages(res.body)).toContain(message)
      expect(res.body).toMatch(/name="name"[^>]*value="Ada Lovelace"/)
      expect(await storedName(key)).toBeUndefined()
    }
  })

  it('the same without a charset (UTF-8 assumed), in any field', async () => {
    for (const field of ['name', 'address', 'city']) {
      const { body, key } = formBody({ [field]: 'Bad%C3%28x' })
      const res = await post('/orders', form, body)
      expect(res.statusCode).toBe(400)
      expect(pageMessages(res.body)[0]).toContain(`${labels[field]} could not be read as text`)
      expect(await storedName(key)).toBeUndefined()
    }
  })

  it('as problem details naming the field for a program, as the API refuses a body', async () => {
    const { body, key } = formBody({ name: 'Bad%C3%28x' })
    const res = await post('/orders', form, body, { accept: 'application/json' })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    const detail =
      'The field "name" is not valid UTF-8 text, so it cannot be read. Please check it and send the form again.'
    expect(res.json()).toEqual({
      type: 'tag:order-service.example,2026:problems/validation',
      title: 'The request is invalid',
      status: 400,
      detail,
      errors: [{ pointer: '/name', detail: 'The field "name" is not valid UTF-8 text.' }],
      statusCode: 400,
      error: 'Bad Request',
      message: detail,
    })
    expect(await storedName(key)).toBeUndefined()
  })

  it('names every field that is not text to a program, a field name too, in its charset', async () => {
    const { body } = formBody({ city: '%FF', 'a/b': '%FF', '%FF': '1' })
    const res = await post('/orders', `${form}; charset=shift_jis`, body, {
      accept: 'application/json',
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().errors).toEqual([
      { pointer: '/city', detail: 'The field "city" is not valid SHIFT_JIS text.' },
      { pointer: '/a~1b', detail: 'The field "a/b" is not valid SHIFT_JIS text.' },
      { pointer: '', detail: 'A field name is not valid SHIFT_JIS text.' },
    ])
  })
})

describe('a charset the service cannot decode gets 415', () => {
  it.each([
    'klingon',
    'utf-16le', // not ASCII-compatible: "&" and "=" are not single bytes
    'utf-16',
    'x-user-defined-nonsense',
    'iso-2022-kr', // the "replacement" encoding: decodes nothing
  ])('charset=%s', async (charset) => {
    const { body, key } = formBody({})
    const res = await post('/orders', `${form}; charset=${charset}`, body)
    expect(res.statusCode).toBe(415)
    const [message] = pageMessages(res.body)
    expect(inhumaneMessage(message)).toBeUndefined()
    expect(message).toMatch(/UTF-8/)
    expect(await storedName(key)).toBeUndefined()
  })
})

describe('JSON bodies: UTF-8 only, as RFC 8259 says', () => {
  const order = { items: [{ sku: 'MUG-001', quantity: 1 }], customer }
  const api = (contentType: string, body: string | Buffer) =>
    t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'content-type': contentType, 'idempotency-key': randomUUID() },
      body,
    })

  it('invalid UTF-8 bytes in a string are refused, not stored as U+FFFD', async () => {
    const text = Buffer.from(JSON.stringify({ ...order, customer: { ...customer, name: 'Bad_x' } }))
    text[text.indexOf('Bad_x') + 3] = 0xc3
    const res = await api('application/json', text)
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toMatch(/UTF-8/)
  })

  it('a declared charset other than UTF-8 gets 415', async () => {
    const res = await api('application/json; charset=iso-8859-1', JSON.stringify(order))
    expect(res.statusCode).toBe(415)
    expect(inhumaneMessage(res.json().message)).toBeUndefined()
  })

  it('charset=utf-8 and a leading BOM are fine', async () => {
    expect((await api('application/json; charset=utf-8', JSON.stringify(order))).statusCode).toBe(
      201,
    )
    expect((await api('application/json', `\ufeff${JSON.stringify(order)}`)).statusCode).toBe(201)
  })

  it('a form body sent to the API is refused for its type (415), never decoded', async () => {
    const res = await api(`${form}; charset=utf-8`, 'name=Bad%C3%28x')
    expect(res.statusCode).toBe(415)
    expect(res.json().message).toMatch(/send JSON/)
  })
})

describe('parseForm, the urlencoded parser itself', () => {
  const parse = (text: string, charset?: string) => ({
    ...parseForm(Buffer.from(text, 'latin1'), charset),
  })
  it('follows the WHATWG URL Standard: + is a space, bad escapes stay as typed, repeats are arrays', () => {
    expect(parse('a=1+2&b=%2B&c=100%&d=%G1&e&=f&a=3')).toEqual({
      a: ['1 2', '3'],
      b: '+',
      c: '100%',
      d: '%G1',
      e: '',
      '': 'f',
    })
  })
  it('reads an ASCII UTF-8 form (split as text) as it reads one split as bytes', () => {
    const text = 'a=1+2&b=%2B&c=100%&d=%G1&e&=f&a=3&n=%7E+x'
    // windows-1252 reads every ASCII byte as UTF-8 does, through the byte-by-byte path.
    expect(parse(text)).toEqual(parse(text, 'windows-1252'))
    // Empty pairs, pairs without `=` before one with two, an empty name and value.
    const odd = '&&k&v=1=2&w&&x=&=&'
    expect(parse(odd)).toEqual({ k: '', v: '1=2', w: '', x: '', '': '' })
    expect(parse(odd)).toEqual(parse(odd, 'windows-1252'))
    expect(parse('n=Jos%C3%A9')).toEqual({ n: 'José' })
    // A raw (not escaped) UTF-8 byte takes the byte path: the same answer as its escape.
    expect(parse('n=Jos\xC3\xA9+R')).toEqual({ n: 'José R' })
    expect(() => parse('n=%C3%28')).toThrow(/"n"/)
  })
  it('keeps a leading byte-order mark, as the WHATWG parser does (UTF-8 decode without BOM)', () => {
    expect(parse('%EF%BB%BFqty-MUG-001=5&n=%EF%BB%BFAda')).toEqual({
      '\uFEFFqty-MUG-001': '5',
      n: '\uFEFFAda',
    })
    expect(parse('%EF%BB%BFa=1')).toEqual({
      ...Object.fromEntries(new URLSearchParams('%EF%BB%BFa=1')),
    })
    // A raw BOM takes the byte path, and is kept the same way.
    expect(parse('\xEF\xBB\xBFa=1')).toEqual({ '\uFEFFa': '1' })
  })
  it('names a field that is not text by at most its first 40 characters', () => {
    const name = 'n'.repeat(60_000)
    const message = (() => {
      try {
        parse(`${name}=%FF`)
      } catch (err) {
        return (err as Error).message
      }
    })()
    expect(message).toContain(`The field "${'n'.repeat(40)}…" is not valid UTF-8 text`)
    expect(message?.length).toBeLessThan(200)
  })
  it('a field named __proto__ is an ordinary field', () => {
    const fields = parseForm(Buffer.from('__proto__=x&constructor=y'), undefined)
    expect(Object.entries(fields)).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
    ])
    // Nothing inherited: no Object.prototype behind it, so no toString, hasOwnProperty, etc.
    for (const name of ['toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf']) {
      expect(name in fields).toBe(false)
    }
    expect(Object.getPrototypeOf(Object.getPrototypeOf(fields))).toBeNull()
    const only = parseForm(Buffer.from('toString=z'), undefined)
    expect(only.toString).toBe('z')
    expect(only.constructor).toBeUndefined()
  })
})
