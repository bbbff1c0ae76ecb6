import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { echoSafe } from '../../src/text.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

// The service refuses controls, format and bidi characters in every text field (src/text.ts),
// and its own messages quote what clients sent: those characters are shown as \u{202E}, never
// raw, on pages and in JSON problems alike (a newcomer's review: a raw U+202E turned the rest of
// "There is no order ‮." around).
let t: TestApp
let token: string
beforeAll(async () => {
  t = await buildTestApp()
  token = await addToken(t.app, await addStaff(t.app, 'echo@example.com', 'admin'))
})
afterAll(() => t?.close())

/** A character the text rule refuses, raw (but the tab and line ends of a page's own markup). */
const raw = /[^\P{Cc}\t\n\r]|[\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}]/u
const html = { accept: 'text/html' }

describe('messages that quote what a client sent', () => {
  it('escapes an order number with a bidi override: API problem and shopper page', async () => {
    const api = await t.app.inject({ url: '/api/orders/%E2%80%AE' })
    expect(api.statusCode).toBe(404)
    expect(api.json().detail).toBe('There is no order \\u{202E}.')
    expect(api.body).not.toMatch(raw)
    const page = await t.app.inject({ url: '/orders/AB%E2%80%8BCD', headers: html })
    expect(page.statusCode).toBe(404)
    expect(page.body).toContain('We could not find order AB\\u{200B}CD.')
    expect(page.body).not.toMatch(raw)
  })

  it('escapes a SKU in the back office API and a state code on the insights page', async () => {
    const sku = await t.app.inject({
      method: 'PATCH',
      url: '/api/admin/products/MUG%E2%80%AE-001',
      headers: { authorization: `Bearer ${token}` },
      payload: { priceCents: 100 },
    })
    expect(sku.statusCode).toBe(404)
    expect(sku.json().detail).toBe('There is no product MUG\\u{202E}-001.')
    const state = await t.app.inject({ url: '/insights/T%E2%80%AEX', headers: html })
    expect(state.statusCode).toBe(404)
    expect(state.body).toContain('There is no US state with the code T\\u{202E}X.')
    expect(state.body).not.toMatch(raw)
  })

  it('escapes a field name in a refused body, in the detail and in each entry', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': '3b0e3c1e-7c1a-4f3e-9d1b-2f7d0c1a9e11' },
      payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer, 'x\u202e': 1 },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().detail).toContain('x\\u{202E}')
    for (const e of res.json().errors) expect(e.detail).not.toMatch(raw)
    expect(res.json().detail).not.toMatch(raw)
  })
})

describe('echoSafe', () => {
  it('writes refused characters as code points and leaves allowed text alone', () => {
    expect(echoSafe('a\u202eb\u0000c\u200bd\u2028e\ud800')).toBe(
      'a\\u{202E}b\\u{0}c\\u{200B}d\\u{2028}e\\u{D800}',
    )
    expect(echoSafe('Café 👩‍👩‍👧 “x” — …')).toBe('Café 👩‍👩‍👧 “x” — …')
    expect(echoSafe('\u200dalone')).toBe('\\u{200D}alone')
  })
})
