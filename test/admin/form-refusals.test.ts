import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, rowCount, type TestApp } from '../helpers/context.ts'
import { addStaff, formHeaders, signIn, signInPage } from '../helpers/staff.ts'

/**
 * Every staff form (and the sign-in page's address) answers a field given twice or holding a
 * NUL with its own page: the form, what else was typed, 400 and one sentence naming the field
 * (src/admin/refused-input.ts), as the order list does for its filters, never the error page.
 * Bodies are written by hand: URLSearchParams cannot repeat a field from an object.
 */

let t: TestApp
let boss: { cookie: string; csrf: string }

beforeAll(async () => {
  t = await buildTestApp()
  await addStaff(t.app, 'boss@example.com', 'admin')
  boss = await signIn(t.app, 'boss@example.com')
})
afterAll(() => t?.close())

/** Posts a urlencoded `body` (as written) with the session's `_csrf`, as a browser would. */
const post = (url: string, body: string) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { ...formHeaders, cookie: boss.cookie },
    payload: `_csrf=${encodeURIComponent(boss.csrf)}&${body}`,
  })

/** The answer is the page with a form, 400, not the error page. */
function expectPage(
  res: { statusCode: number; body: string; headers: Record<string, unknown> },
  action: string,
) {
  expect(res.statusCode).toBe(400)
  expect(res.headers['content-type']).toMatch(/^text\/html/)
  expect(res.body).not.toContain('Bad Request</h1>')
  expect(res.body).toContain(`action="${action}"`)
}

const staffCount = async () => (await t.app.db.selectFrom('staff').select('id').execute()).length

const priceOf = async (sku: string) =>
  await t.app.db
    .selectFrom('products')
    .select(['price_cents', 'stock', 'on_sale'])
    .where('sku', '=', sku)
    .executeTakeFirstOrThrow()

describe('the products forms', () => {
  it('a price given twice: the page, the sentence by the price field, nothing changed', async () => {
    const before = await priceOf('CAP-003')
    const res = await post('/admin/products/cap-003/price', 'price=1&price=2')
    expectPage(res, '/admin/products/CAP-003/price')
    expect(res.body).toContain(
      '<p class="field-error" id="price-CAP-003-error">The price was given twice: choose one.</p>',
    )
    expect(res.body).toContain('CAP-003: The price was given twice: choose one.')
    expect(await priceOf('CAP-003')).toEqual(before)
  })

  it('units with a NUL, an on-sale given twice, a version given twice: the page and the field named', async () => {
    const before = await priceOf('CAP-003')
    const units = await post('/admin/products/CAP-003/restock', 'units=5%00')
    expectPage(units, '/admin/products/CAP-003/restock')
    expect(units.body).toContain(
      'id="units-CAP-003-error">Units to add must not contain a NUL character (U+0000).</p>',
    )
    const sale = await post('/admin/products/CAP-003/sale', 'onSale=true&onSale=false')
    expectPage(sale, '/admin/products/CAP-003/sale')
    expect(sale.body).toContain('CAP-003: On sale was given twice: choose one.')
    // What was typed in the price field is kept when another field is the one refused.
    const version = await post('/admin/products/CAP-003/price', 'price=7.50&version=1&version=2')
    expectPage(version, '/admin/products/CAP-003/price')
    expect(version.body).toContain(
      'CAP-003: The form’s product version was given twice: choose one.',
    )
    expect(await priceOf('CAP-003')).toEqual(before)
  })
})

describe('the products forms, what was typed and the product', () => {
  it('a version given twice keeps the units (and the price) typed in the form sent', async () => {
    const restock = await post('/admin/products/CAP-003/restock', 'units=25&version=1&version=2')
    expectPage(restock, '/admin/products/CAP-003/restock')
    expect(restock.body).toContain(
      'CAP-003: The form’s product version was given twice: choose one.',
    )
    expect(restock.body).toMatch(/<input id="units-CAP-003" name="units"[^>]* value="25"/)
    // Only in the field it was typed in, of the form's own product.
    expect(restock.body).toMatch(/<input id="price-CAP-003" name="price"[^>]* value=""/)
    expect(restock.body).toMatch(/<input id="units-MUG-001" name="units"[^>]* value=""/)
    const price = await post('/admin/products/CAP-003/price', 'price=7.50&version=1&version=2')
    expect(price.body).toMatch(/<input id="price-CAP-003" name="price"[^>]* value="7.50"/)
    // A price field given twice sent to the restock form: the units typed stay with the units.
    const other = await post('/admin/products/CAP-003/restock', 'units=9&price=1&price=2')
    expect(other.body).toMatch(/<input id="units-CAP-003" name="units"[^>]* value="9"/)
    expect(other.body).toMatch(/<input id="price-CAP-003" name="price"[^>]* value=""/)
  })

  it('a form for a product that does not exist is 404, whatever else is wrong with it', async () => {
    for (const [url, body] of [
      ['/admin/products/NOPE-1/price', 'price=1&price=2'],
      ['/admin/products/nope-1/restock', 'units=5&version=1&version=2'],
      ['/admin/products/NOPE-1/price', 'price=a%00'],
      ['/admin/products/NOPE-1/price', 'price=abc'],
      ['/admin/products/NOPE-1/restock', 'units=0'],
      ['/admin/products/NOPE-1/sale', 'onSale=true&onSale=false'],
    ] as const) {
      const res = await post(url, body)
      expect(res.statusCode, `${url} ${body}`).toBe(404)
      expect(res.body, `${url} ${body}`).toContain('There is no product NOPE-1.')
    }
  })
})

describe('the sign-in page', () => {
  it('?next given twice or with a NUL: the sign-in form, 400, the sentence', async () => {
    const twice = await t.app.inject({ url: '/admin/login?next=/admin&next=/x' })
    expectPage(twice, '/admin/login')
    expect(twice.body).toContain('The page to go on to (next) was given twice: choose one.')
    expect(twice.body).toContain('name="_csrf"')
    const nul = await t.app.inject({ url: '/admin/login?next=/admin%00&ended=idle' })
    expectPage(nul, '/admin/login')
    expect(nul.body).toContain(
      'The page to go on to (next) must not contain a NUL character (U+0000).',
    )
  })

  it('signed in already, ?next given twice goes on to the admin home, as any next does', async () => {
    const res = await t.app.inject({
      url: '/admin/login?next=/admin/products&next=/admin/orders',
      headers: { cookie: boss.cookie },
    })
    expect(res.statusCode).toBe(303)
    expect(res.headers.location).toBe('/admin')
  })

  it('a posted field given twice or with a NUL: the form again with the e-mail and next kept', async () => {
    const send = async (body: string) => {
      const { cookie, csrf } = await signInPage(t.app)
      return t.app.inject({
        method: 'POST',
        url: '/admin/login',
        headers: { ...formHeaders, cookie },
        payload: `_csrf=${encodeURIComponent(csrf)}&${body}`,
      })
    }
    const twice = await send('email=a%40example.com&email=b%40example.com&password=x')
    expectPage(twice, '/admin/login')
    expect(twice.body).toContain('The e-mail address was given twice: choose one.')
    expect(twice.body).toContain('id="email-error"')
    const nul = await send('email=boss%40example.com&password=x%00&next=%2Fadmin%2Forders')
    expectPage(nul, '/admin/login')
    expect(nul.body).toContain('The password must not contain a NUL character (U+0000).')
    expect(nul.body).toContain('value="boss@example.com"')
    expect(nul.body).toContain('name="next" value="/admin/orders"')
  })
})

describe('the password change', () => {
  it('a field given twice or with a NUL: the form, 400, the sentence by the field', async () => {
    const twice = await post('/admin/password', 'current=a&current=b&password=x&again=x')
    expectPage(twice, '/admin/password')
    expect(twice.body).toContain(
      'id="current-error">The current password was given twice: choose one.</p>',
    )
    const nul = await post('/admin/password', 'current=a&password=x%00&again=x')
    expectPage(nul, '/admin/password')
    expect(nul.body).toContain(
      'id="password-error">The new password must not contain a NUL character (U+0000).</p>',
    )
  })
})

describe('the staff forms', () => {
  it('adding a member: an e-mail given twice keeps the role; a NUL is named', async () => {
    const before = await staffCount()
    const twice = await post(
      '/admin/staff',
      'email=a%40example.com&email=b%40example.com&role=admin&password=x',
    )
    expectPage(twice, '/admin/staff')
    expect(twice.body).toContain('The e-mail address was given twice: choose one.')
    expect(twice.body).toContain('<option value="admin" selected>')
    const nul = await post('/admin/staff', 'email=a%00%40example.com&role=staff&password=x')
    expectPage(nul, '/admin/staff')
    expect(nul.body).toContain('The e-mail address must not contain a NUL character (U+0000).')
    expect(await staffCount()).toBe(before)
  })

  it("a member's form: the member's page with the sentence", async () => {
    const clerkId = await addStaff(t.app, 'clerk@example.com', 'staff')
    const twice = await post(`/admin/staff/${clerkId}/role`, 'role=admin&role=staff')
    expectPage(twice, `/admin/staff/${clerkId}/role`)
    expect(twice.body).toContain('The role was given twice: choose one.')
    const nul = await post(`/admin/staff/${clerkId}/password`, 'password=x%00')
    expectPage(nul, `/admin/staff/${clerkId}/password`)
    expect(nul.body).toContain('The password must not contain a NUL character (U+0000).')
  })
})

describe('the webhook forms', () => {
  it('registering: a URL given twice keeps the description and events; a NUL is named', async () => {
    const twice = await post(
      '/admin/webhooks',
      'url=https%3A%2F%2F93.184.215.14%2Fa&url=https%3A%2F%2F93.184.215.14%2Fb&description=Warehouse&eventTypes=order.shipped',
    )
    expectPage(twice, '/admin/webhooks')
    expect(twice.body).toContain('The URL was given twice: choose one.')
    expect(twice.body).toContain('value="Warehouse"')
    expect(twice.body).toMatch(/value="order\.shipped"[^>]*checked/)
    const nul = await post(
      '/admin/webhooks',
      'url=https%3A%2F%2F93.184.215.14%2Fa%00&eventTypes=order.shipped',
    )
    expectPage(nul, '/admin/webhooks')
    expect(nul.body).toContain('The URL must not contain a NUL character (U+0000).')
    expect(await rowCount(t.app, 'webhook_endpoints')).toBe(0)
  })

  it("an endpoint's forms: its page with the sentence", async () => {
    const made = await post(
      '/admin/webhooks',
      'url=https%3A%2F%2F93.184.215.14%2Fok&eventTypes=order.placed',
    )
    expect(made.statusCode).toBe(303)
    const id = /\/admin\/webhooks\/(\d+)/.exec(made.headers.location as string)?.[1]
    const change = await post(
      `/admin/webhooks/${id}`,
      'url=https%3A%2F%2Fa%00&eventTypes=order.placed',
    )
    expectPage(change, `/admin/webhooks/${id}`)
    expect(change.body).toContain('The URL must not contain a NUL character (U+0000).')
    const enabled = await post(`/admin/webhooks/${id}/enabled`, 'enabled=true&enabled=false')
    expectPage(enabled, `/admin/webhooks/${id}/enabled`)
    expect(enabled.body).toContain('Enabled was given twice: choose one.')
    const deleted = await post(`/admin/webhooks/${id}/delete`, 'confirm=yes&confirm=yes')
    expectPage(deleted, `/admin/webhooks/${id}/delete`)
    expect(deleted.body).toContain('The confirmation box was given twice: choose one.')
    expect(await rowCount(t.app, 'webhook_endpoints')).toBe(1)
  })
})

describe("an endpoint's buttons", () => {
  /** The endpoint page's Change section: the edit form and its alert. */
  const editSection = (body: string) => /id="edit-title"[\s\S]*?<\/section>/.exec(body)?.[0] ?? ''

  it('a refused Enable, Rotate or Delete: the sentence by the button pressed, not the edit form', async () => {
    const made = await post(
      '/admin/webhooks',
      'url=https%3A%2F%2F93.184.215.14%2Fbuttons&eventTypes=order.placed',
    )
    const id = /\/admin\/webhooks\/(\d+)/.exec(made.headers.location as string)?.[1]
    const twice = 'Enabled was given twice: choose one.'
    const enabled = await post(`/admin/webhooks/${id}/enabled`, 'enabled=true&enabled=false')
    expectPage(enabled, `/admin/webhooks/${id}/enabled`)
    expect(enabled.body).toMatch(
      new RegExp(
        `<button type="submit" class="button" aria-describedby="enabled-error">Disable</button></p>\\s*<p class="field-error" id="enabled-error" role="alert">${twice}</p>`,
      ),
    )
    expect(editSection(enabled.body)).not.toContain('class="alert"')
    const damaged = await post(`/admin/webhooks/${id}/enabled`, 'enabled=maybe')
    expectPage(damaged, `/admin/webhooks/${id}/enabled`)
    expect(damaged.body).toContain(
      'id="enabled-error" role="alert">This form is damaged: reload the page and try again.</p>',
    )
    const rotate = await post(`/admin/webhooks/${id}/rotate-secret`, 'enabled=a&enabled=b')
    expect(rotate.statusCode).toBe(400)
    expect(rotate.body).toContain('aria-describedby="rotate-error">Rotate secret</button>')
    expect(rotate.body).toContain(`id="rotate-error" role="alert">${twice}</p>`)
    const deleted = await post(`/admin/webhooks/${id}/delete`, 'confirm=yes&enabled=a&enabled=b')
    expectPage(deleted, `/admin/webhooks/${id}/delete`)
    expect(deleted.body).toContain('aria-describedby="delete-error">Delete endpoint</button>')
    expect(deleted.body).toContain(`id="delete-error" role="alert">${twice}</p>`)
    for (const res of [rotate, deleted]) expect(editSection(res.body)).not.toContain(twice)
    // The box of Delete's form refused: by the box, as when it is not ticked.
    const box = await post(`/admin/webhooks/${id}/delete`, 'confirm=yes&confirm=yes')
    expect(box.body).toMatch(/name="confirm" value="yes" required aria-invalid="true"/)
    // A button with no place of its own (in a row of deliveries): the page's alert.
    const overlap = await post(`/admin/webhooks/${id}/end-secret-overlap`, 'enabled=a&enabled=b')
    expect(overlap.body).toContain(`<p class="alert" role="alert">${twice}</p>`)
    expect(editSection(overlap.body)).not.toContain(twice)
    expect(await rowCount(t.app, 'webhook_endpoints')).toBeGreaterThan(0)
  })
})

describe("the pages' own notes (`?done=`, `?updated=`, …, what a 303 adds)", () => {
  it('given twice or with a NUL: the page, 400, saying which', async () => {
    const made = await post(
      '/admin/webhooks',
      'url=https%3A%2F%2F93.184.215.14%2Fnotes&eventTypes=order.placed',
    )
    const endpoint = /\/admin\/webhooks\/(\d+)/.exec(made.headers.location as string)?.[1]
    const clerkId = await addStaff(t.app, 'notes@example.com', 'staff')
    for (const [url, sentence] of [
      [
        '/admin/products?updated=MUG-001&updated=TEE-002',
        'The note on what was updated (updated) was given twice: choose one.',
      ],
      [
        '/admin/password?done=changed%00',
        'The note on what was done (done) must not contain a NUL character (U+0000).',
      ],
      [
        `/admin/staff/${clerkId}?done=role&done=added`,
        'The note on what was done (done) was given twice: choose one.',
      ],
      [
        '/admin/webhooks?deleted=1&deleted=2',
        'The note on what was deleted (deleted) was given twice: choose one.',
      ],
      [
        `/admin/webhooks/${endpoint}?updated=1&updated=1`,
        'The note on what was updated (updated) was given twice: choose one.',
      ],
    ] as const) {
      const res = await t.app.inject({ url, headers: { accept: 'text/html', cookie: boss.cookie } })
      expect(res.statusCode, url).toBe(400)
      expect(res.body, url).not.toContain('Bad Request</h1>')
      expect(res.body, url).toContain(sentence)
      expect(res.body, url).toContain('<form method="post"')
    }
  })
})

describe('the order list and the staff list, a NUL in their query', () => {
  it('answers with the page, 400, naming the parameter, not the error page', async () => {
    const orders = await t.app.inject({
      url: '/admin/orders?status=placed%00&state=TX',
      headers: { cookie: boss.cookie },
    })
    expect(orders.statusCode).toBe(400)
    expect(orders.headers['content-type']).toMatch(/^text\/html/)
    expect(orders.body).not.toContain('Bad Request</h1>')
    expect(orders.body).toContain('Status must not contain a NUL character (U+0000).')
    // The other filter is kept in the form.
    expect(orders.body).toMatch(/<option value="TX" selected|value="TX"/)
    const staff = await t.app.inject({
      url: '/admin/staff?done=%00',
      headers: { cookie: boss.cookie },
    })
    expect(staff.statusCode).toBe(400)
    expect(staff.headers['content-type']).toMatch(/^text\/html/)
    expect(staff.body).not.toContain('Bad Request</h1>')
    expect(staff.body).toContain(
      'The note on what was done (done) must not contain a NUL character (U+0000).',
    )
  })
})
