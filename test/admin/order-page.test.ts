import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, stock, type TestApp } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, csrfOf, form, formHeaders, signIn } from '../helpers/staff.ts'

let t: TestApp
let cookie: string
let csrf: string

beforeAll(async () => {
  t = await buildTestApp()
  await addStaff(t.app, 'packer@example.com')
  ;({ cookie, csrf } = await signIn(t.app, 'packer@example.com'))
})
afterAll(async () => t?.close())

const page = (orderNumber: string) =>
  t.app.inject({ url: `/admin/orders/${orderNumber}`, headers: { cookie, accept: 'text/html' } })

/** Posts a button of the order page (the hidden fields it carries, and `fields`). */
const press = (orderNumber: string, fields: Record<string, string>) =>
  t.app.inject({
    method: 'POST',
    url: `/admin/orders/${orderNumber}/transitions`,
    headers: { cookie, ...formHeaders },
    payload: form(fields),
  })

/** The version the page's forms carry. */
const versionOn = (html: string) => /name="version" value="(\d+)"/.exec(html)?.[1] as string

describe('the order page', () => {
  it('shows lines, customer, status and one button per allowed change, each with _csrf and the version', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 2 }])
    const res = await page(n)
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.body).toContain('Enamel Camp Mug')
    expect(res.body).toContain('Ada Lovelace')
    expect(res.body).toContain('ada@example.com')
    expect(res.body).toMatch(/class="order-status">placed</)
    expect(res.body).toContain('No changes since the order was placed.')
    const buttons = [...res.body.matchAll(/name="to" value="([a-z]+)"/g)].map((m) => m[1])
    // Cancelling is not a button beside the others: a link to the page that confirms it.
    expect(buttons).toEqual(['packed'])
    expect(res.body).toContain(
      `<a class="button button-danger" href="/admin/orders/${n}/cancel">Cancel order…</a>`,
    )
    expect(csrfOf(res.body)).toBe(csrf)
    expect(versionOn(res.body)).toBe('1')
  })

  it('cancels only after a confirmation page that says what cancelling does', async () => {
    const stockOf = () => stock(() => t.app.db).of('MUG-001')
    const before = await stockOf()
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 3 }])
    const confirm = await t.app.inject({
      url: `/admin/orders/${n}/cancel`,
      headers: { cookie, accept: 'text/html' },
    })
    expect(confirm.statusCode).toBe(200)
    expect(confirm.headers['cache-control']).toBe('no-store')
    expect(confirm.body).toContain('Cancelling cannot be undone.')
    expect(confirm.body).toContain('Its 3 units go back into stock: 3 × Enamel Camp Mug')
    expect(confirm.body).toContain('Its sale leaves the insights')
    expect(confirm.body).toContain(`<a href="/admin/orders/${n}">Keep the order</a>`)
    // The one form: the real POST, with the session's token and the version shown.
    expect(confirm.body).toContain(`action="/admin/orders/${n}/transitions"`)
    expect(csrfOf(confirm.body)).toBe(csrf)
    expect(versionOn(confirm.body)).toBe('1')
    expect(confirm.body).toContain('name="to" value="cancelled"')
    expect(confirm.body).toMatch(/<button type="submit" class="button button-danger">Cancel order/)
    // Opening it changed nothing.
    expect((await page(n)).body).toMatch(/class="order-status">placed</)
    expect(await stockOf()).toBe(before - 3)
    // Confirming cancels, and the units come back.
    const done = await press(n, { _csrf: csrf, to: 'cancelled', version: versionOn(confirm.body) })
    expect(done.statusCode).toBe(303)
    expect(done.headers.location).toBe(`/admin/orders/${n}`)
    const after = (await page(n)).body
    expect(after).toMatch(/class="order-status">cancelled</)
    expect(after).not.toContain('Cancel order…')
    expect(await stockOf()).toBe(before)
    // A cancelled (or shipped) order's confirmation page is its page with the reason.
    const again = await t.app.inject({
      url: `/admin/orders/${n}/cancel`,
      headers: { cookie, accept: 'text/html' },
    })
    expect(again.statusCode).toBe(409)
    expect(again.body).toContain(`Order ${n} is already cancelled.`)
    const loose = await t.app.inject({
      url: `/admin/orders/${n.replace('-', '').toLowerCase()}/cancel`,
      headers: { cookie, accept: 'text/html' },
    })
    expect(loose.statusCode).toBe(301)
    expect(loose.headers.location).toBe(`/admin/orders/${n}/cancel`)
    const unknown = await t.app.inject({
      url: '/admin/orders/ZZZZZ-ZZZZZ/cancel',
      headers: { cookie, accept: 'text/html' },
    })
    expect(unknown.statusCode).toBe(404)
  })

  it('redirects a loosely typed number to its page, and 404s an unknown one', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    const loose = await page(n.replace('-', '').toLowerCase())
    expect(loose.statusCode).toBe(301)
    expect(loose.headers.location).toBe(`/admin/orders/${n}`)
    expect((await page('ZZZZZ-ZZZZZ')).statusCode).toBe(404)
  })

  it('reads a typed number as every other route does: dashes elsewhere are no number (404, nothing changed)', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    const plain = n.replace('-', '')
    // A review found these shown (301) and shipped here while the API and the shop answer 404.
    for (const typed of [
      plain.split('').join('-'),
      `${n.slice(0, 5)}--${n.slice(6)}`,
      `-${plain}`,
    ]) {
      expect((await page(typed)).statusCode, typed).toBe(404)
      const cancel = await t.app.inject({
        url: `/admin/orders/${typed}/cancel`,
        headers: { cookie, accept: 'text/html' },
      })
      expect(cancel.statusCode, typed).toBe(404)
      const res = await press(typed, { _csrf: csrf, to: 'packed', version: '1' })
      expect(res.statusCode, typed).toBe(404)
      expect(res.body).toContain(`There is no order ${typed}.`)
    }
    expect(versionOn((await page(n)).body)).toBe('1')
  })

  it('packs and ships through the buttons (303 back), recording who in the history', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    const packed = await press(n, { _csrf: csrf, to: 'packed', version: '1' })
    expect(packed.statusCode).toBe(303)
    expect(packed.headers.location).toBe(`/admin/orders/${n}`)
    const ship = await press(n, {
      _csrf: csrf,
      to: 'shipped',
      version: '2',
      carrier: ' UPS ',
      trackingNumber: '1Z999AA10123456784',
    })
    expect(ship.statusCode).toBe(303)
    const after = (await page(n)).body
    expect(after).toMatch(/class="order-status">shipped</)
    expect(after).toContain('class="tracking-number">1Z999AA10123456784<')
    expect(after).toContain('placed → packed')
    expect(after).toContain('packed → shipped')
    expect(after.match(/packer@example\.com/g)?.length).toBeGreaterThanOrEqual(2)
    const buttons = [...after.matchAll(/name="to" value="([a-z]+)"/g)].map((m) => m[1])
    expect(buttons).toEqual(['delivered'])
  })

  it('writes every time one way, as the rest of the back office does: 2026-01-31 14:05 UTC', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    expect((await press(n, { _csrf: csrf, to: 'packed', version: '1' })).statusCode).toBe(303)
    for (const url of [`/admin/orders/${n}`, '/admin/orders']) {
      const body = (await t.app.inject({ url, headers: { cookie, accept: 'text/html' } })).body
      const times = [...body.matchAll(/<time datetime="([^"]+)">([^<]*)<\/time>/g)]
      // The order page: when it was placed and its one change.
      expect(times.length, url).toBeGreaterThanOrEqual(2)
      for (const [, at = '', text] of times) {
        expect(at, url).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
        expect(text, url).toBe(`${at.slice(0, 10)} ${at.slice(11, 16)} UTC`)
      }
    }
  })

  it('refuses a button without the CSRF token: 403, nothing changed', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    const res = await press(n, { to: 'packed', version: '1' })
    expect(res.statusCode).toBe(403)
    const wrong = await press(n, { _csrf: `${csrf}x`, to: 'packed', version: '1' })
    expect(wrong.statusCode).toBe(403)
    expect((await page(n)).body).toMatch(/class="order-status">placed</)
  })

  it('re-renders "This order changed meanwhile" (409) for a stale version, with the fresh one', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    // Two tabs on version 1: one packs, the other then cancels.
    expect((await press(n, { _csrf: csrf, to: 'packed', version: '1' })).statusCode).toBe(303)
    const stale = await press(n, { _csrf: csrf, to: 'cancelled', version: '1' })
    expect(stale.statusCode).toBe(409)
    expect(stale.body).toContain('This order changed meanwhile: it is packed now.')
    expect(versionOn(stale.body)).toBe('2')
    expect(stale.body).toMatch(/class="order-status">packed</)
  })

  it('shows the lifecycle sentence (409) for a change the status does not allow', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    const res = await press(n, { _csrf: csrf, to: 'delivered', version: '1' })
    expect(res.statusCode).toBe(409)
    expect(res.body).toContain(`Order ${n} is placed; it cannot be delivered yet`)
  })

  it('refuses shipping without a tracking number (400), keeping what was typed', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    await press(n, { _csrf: csrf, to: 'packed', version: '1' })
    const blank = await press(n, {
      _csrf: csrf,
      to: 'shipped',
      version: '2',
      carrier: 'DHL',
      trackingNumber: '  ',
    })
    expect(blank.statusCode).toBe(400)
    expect(blank.body).toContain('Tracking number must not be blank.')
    expect(blank.body).toContain('value="DHL"')
    const missing = await press(n, { _csrf: csrf, to: 'shipped', version: '2', carrier: 'DHL' })
    expect(missing.statusCode).toBe(400)
    expect(missing.body).toContain('Tracking number is needed to ship.')
    const damaged = await press(n, { _csrf: csrf, to: 'lost', version: 'x' })
    expect(damaged.statusCode).toBe(400)
  })

  it('marks the shipping field a refusal is about, with its message beside it', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    await press(n, { _csrf: csrf, to: 'packed', version: '1' })
    const input = (html: string, id: string) =>
      new RegExp(`<input id="${id}"[^>]*>`).exec(html)?.[0] ?? ''
    const blank = await press(n, {
      _csrf: csrf,
      to: 'shipped',
      version: '2',
      carrier: ' ',
      trackingNumber: '1Z999AA10123456784',
    })
    expect(blank.statusCode).toBe(400)
    expect(input(blank.body, 'carrier')).toContain('aria-invalid="true"')
    expect(input(blank.body, 'carrier')).toContain('aria-describedby="carrier-error"')
    expect(blank.body).toContain(
      '<p class="field-error" id="carrier-error">Carrier must not be blank.</p>',
    )
    // The other field is left as it was, unmarked.
    expect(input(blank.body, 'trackingNumber')).not.toContain('aria-invalid')
    expect(input(blank.body, 'trackingNumber')).toContain('value="1Z999AA10123456784"')
    // A field missing from the form altogether: the one the lifecycle names.
    const missing = await press(n, { _csrf: csrf, to: 'shipped', version: '2', carrier: 'DHL' })
    expect(missing.statusCode).toBe(400)
    expect(input(missing.body, 'trackingNumber')).toContain('aria-invalid="true"')
    expect(input(missing.body, 'carrier')).not.toContain('aria-invalid')
    expect(missing.body).toContain('id="trackingNumber-error">Tracking number is needed to ship.<')
  })

  it('a NUL in the carrier comes back in the form with its sentence, what was typed kept', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    await press(n, { _csrf: csrf, to: 'packed', version: '1' })
    const input = (html: string, id: string) =>
      new RegExp(`<input id="${id}"[^>]*>`).exec(html)?.[0] ?? ''
    const res = await press(n, {
      _csrf: csrf,
      to: 'shipped',
      version: '2',
      carrier: 'UPS\u0000',
      trackingNumber: '1Z999AA10123456784',
    })
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain(
      '<p class="field-error" id="carrier-error">Carrier must not contain a NUL character (U+0000).</p>',
    )
    expect(input(res.body, 'carrier')).toContain('aria-invalid="true"')
    expect(input(res.body, 'carrier')).toContain('value="UPS"')
    expect(input(res.body, 'trackingNumber')).toContain('value="1Z999AA10123456784"')
    expect(res.body).not.toContain('\u0000')
    // With another field refused by the schema too: both are said.
    const both = await press(n, {
      _csrf: csrf,
      to: 'shipped',
      version: '2',
      carrier: 'UPS\u0000',
      trackingNumber: ' ',
    })
    expect(both.body).toContain('id="carrier-error">Carrier must not contain a NUL character')
    expect(both.body).toContain('id="trackingNumber-error">Tracking number must not be blank.<')
    expect(both.body).toContain('The order was not changed:')
  })

  it('says a carrier that fits as typed is too long only in NFC, with both counts', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    await press(n, { _csrf: csrf, to: 'packed', version: '1' })
    // U+FB2C is one character typed and three in NFC: 20 typed, 60 stored, over the 50.
    const res = await press(n, {
      _csrf: csrf,
      to: 'shipped',
      version: '2',
      carrier: '\ufb2c'.repeat(20),
      trackingNumber: '1Z999AA10123456784',
    })
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain(
      'Carrier must be a carrier name of 1 to 50 characters as stored: the 20 characters typed become 60 in Unicode&#39;s standard form (NFC), which writes a few characters as two or three.',
    )
  })

  it('marks both shipping fields when both are left blank, and lists both in the alert', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    await press(n, { _csrf: csrf, to: 'packed', version: '1' })
    const input = (html: string, id: string) =>
      new RegExp(`<input id="${id}"[^>]*>`).exec(html)?.[0] ?? ''
    const alert = (html: string) =>
      /<div class="alert" role="alert">([\s\S]*?)<\/div>/.exec(html)?.[1]
    const ship = { _csrf: csrf, to: 'shipped', version: '2' }
    // As a browser sends the two fields empty or spaces, one blank and the other left out.
    const sent: Record<string, string>[] = [
      { carrier: '', trackingNumber: '' },
      { carrier: '  ', trackingNumber: ' ' },
      { carrier: ' ' },
      {},
    ]
    for (const fields of sent) {
      const res = await press(n, { ...ship, ...fields })
      expect(res.statusCode).toBe(400)
      for (const id of ['carrier', 'trackingNumber']) {
        expect(input(res.body, id)).toContain('aria-invalid="true"')
        expect(input(res.body, id)).toContain(`aria-describedby="${id}-error"`)
        expect(res.body).toMatch(new RegExp(`<p class="field-error" id="${id}-error">[^<]+</p>`))
      }
      // The alert names both, in the page's order, each a link to its field.
      const links = [...(alert(res.body) ?? '').matchAll(/<a href="#([a-zA-Z]+)">([^<]+)<\/a>/g)]
      expect(links.map((m) => m[1])).toEqual(['carrier', 'trackingNumber'])
      expect(links[0]?.[2]).toMatch(/^Carrier /)
      expect(links[1]?.[2]).toMatch(/^Tracking number /)
    }
    expect((await page(n)).body).toMatch(/class="order-status">packed</)
  })

  it('says why an order cancelled meanwhile cannot be shipped (409), not which shipping field is blank', async () => {
    const n = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    await press(n, { _csrf: csrf, to: 'packed', version: '1' })
    // Another tab cancels it while this one's shipping form is still open.
    await press(n, { _csrf: csrf, to: 'cancelled', version: '2' })
    const sent: Record<string, string>[] = [
      { carrier: ' ', trackingNumber: ' ' },
      { carrier: 'DHL' },
      {},
    ]
    for (const fields of sent) {
      const res = await press(n, { _csrf: csrf, to: 'shipped', version: '2', ...fields })
      expect(res.statusCode).toBe(409)
      expect(res.body).toContain(`Order ${n} is cancelled; it can no longer be shipped.`)
      // The page has no shipping form any more: nothing may point at its fields.
      expect(res.body).not.toContain('field-error')
      expect(res.body).not.toContain('href="#carrier"')
    }
  })
})

describe("the shopper's side", () => {
  it('shows the current status at once, and the carrier and tracking number once shipped', async () => {
    // Placed through the form and followed as a browser does: the read that used to be answered
    // from the orders this instance kept in memory.
    const home = await t.app.inject('/')
    const key = /name="idempotencyKey" value="([^"]+)"/.exec(home.body)?.[1] as string
    const placed = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({
        'qty-MUG-001': '1',
        name: 'Grace Hopper',
        email: 'grace@example.com',
        address: '1 Navy Way',
        city: 'Arlington',
        state: 'VA',
        zip: '22202',
        idempotencyKey: key,
      }),
    })
    expect(placed.statusCode).toBe(303)
    const url = placed.headers.location as string
    const n = url.split('/').at(-1) as string
    const first = await t.app.inject(url)
    expect(first.body).toMatch(/class="order-status">placed</)
    expect((await t.app.inject(`/api/orders/${n}`)).json()).toMatchObject({
      status: 'placed',
      carrier: null,
      trackingNumber: null,
    })

    await press(n, { _csrf: csrf, to: 'packed', version: '1' })
    expect((await t.app.inject(url)).body).toMatch(/class="order-status">packed</)
    expect((await t.app.inject(`/api/orders/${n}`)).json().status).toBe('packed')

    await press(n, {
      _csrf: csrf,
      to: 'shipped',
      version: '2',
      carrier: 'USPS',
      trackingNumber: '9400 1000 0000 0000 0000 00',
    })
    const shipped = await t.app.inject(url)
    expect(shipped.body).toMatch(/class="order-status">shipped</)
    expect(shipped.body).toContain('Shipped with <strong>USPS</strong>')
    expect(shipped.body).toContain('class="tracking-number">9400 1000 0000 0000 0000 00<')
    expect((await t.app.inject(`/api/orders/${n}`)).json()).toMatchObject({
      status: 'shipped',
      carrier: 'USPS',
      trackingNumber: '9400 1000 0000 0000 0000 00',
    })
  })
})
