import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, rowCount, type TestApp } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, formHeaders, signIn, signInPage } from '../helpers/staff.ts'

/**
 * Every staff form posted with bytes that are not UTF-8 in a field (`%FF`) answers as the
 * shopper's order form does (src/orders/form-messages.ts): its own page again, 400, the field
 * marked with one sentence, the other fields kept, a password never shown again
 * (src/input-guards.ts, readableFields). Not the generic error page. Bodies are written by hand:
 * URLSearchParams would encode the escape.
 */

let t: TestApp
let boss: { cookie: string; csrf: string }
let clerkId: number
let endpointId: string
let orderNumber: string

beforeAll(async () => {
  t = await buildTestApp()
  await addStaff(t.app, 'boss@example.com', 'admin')
  clerkId = await addStaff(t.app, 'clerk@example.com', 'staff')
  boss = await signIn(t.app, 'boss@example.com')
  const made = await post(
    '/admin/webhooks',
    'url=https%3A%2F%2F93.184.215.14%2Ftext&eventTypes=order.placed',
  )
  endpointId = /\/admin\/webhooks\/(\d+)/.exec(made.headers.location as string)?.[1] as string
  orderNumber = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
  // Packed, so that its page shows the shipping form.
  const packed = await post(`/admin/orders/${orderNumber}/transitions`, 'to=packed&version=1')
  expect(packed.statusCode).toBe(303)
})
afterAll(() => t?.close())

/** Posts a urlencoded `body` (as written) with the session's `_csrf`, as a browser would. */
function post(url: string, body: string) {
  return t.app.inject({
    method: 'POST',
    url,
    headers: { ...formHeaders, cookie: boss.cookie },
    payload: `_csrf=${encodeURIComponent(boss.csrf)}&${body}`,
  })
}

const secret = 'a-long-password-never-shown'

/** [form, its action, body, the sentence, what the page must hold again, what it must not]. */
const cases = (): [string, string, string, string, string[], string[]][] => [
  [
    'restock',
    '/admin/products/CAP-003/restock',
    'units=1%FF&version=1',
    'id="units-CAP-003-error">Units to add could not be read as text: check it and send the form again.</p>',
    [],
    [],
  ],
  [
    'price (its version unreadable)',
    '/admin/products/CAP-003/price',
    'price=7.25&version=%FF',
    'CAP-003: The form’s product version could not be read as text: check it and send the form again.',
    ['value="7.25"'],
    [],
  ],
  [
    'sale',
    '/admin/products/CAP-003/sale',
    'onSale=tr%FFue',
    'CAP-003: On sale could not be read as text',
    [],
    [],
  ],
  [
    'own password',
    '/admin/password',
    `current=%FF&password=${secret}&again=${secret}`,
    'id="current-error">The current password could not be read as text: check it and send the form again.</p>',
    [],
    [secret],
  ],
  [
    'adding a member',
    '/admin/staff',
    `email=new%FF%40example.com&role=admin&password=${secret}`,
    'The e-mail address could not be read as text',
    ['<option value="admin" selected>'],
    [secret],
  ],
  [
    "a member's role",
    '/admin/staff/:clerk/role',
    'role=st%FFaff',
    'The role could not be read as text',
    [],
    [],
  ],
  [
    "a member's new password",
    '/admin/staff/:clerk/password',
    `password=${secret}%FF`,
    'The password could not be read as text',
    [],
    [secret],
  ],
  [
    'registering an endpoint',
    '/admin/webhooks',
    'url=https%3A%2F%2F93.184.215.14%2Fnew&description=Ware%FFhouse&eventTypes=order.placed&eventTypes=order.shipped',
    'id="description-error">The description could not be read as text: check it and send the form again.</p>',
    [
      'value="https://93.184.215.14/new"',
      'value="order.placed" checked',
      'value="order.shipped" checked',
    ],
    [],
  ],
  [
    'changing an endpoint',
    '/admin/webhooks/:endpoint',
    'url=https%3A%2F%2F93.184.215.14%2F%FF&description=Kept&eventTypes=order.shipped',
    'id="url-error">The URL could not be read as text: check it and send the form again.</p>',
    ['value="Kept"', 'value="order.shipped" checked'],
    [],
  ],
  [
    'enabling an endpoint',
    '/admin/webhooks/:endpoint/enabled',
    'enabled=%FF',
    'id="enabled-error" role="alert">Enabled could not be read as text',
    [],
    [],
  ],
  [
    "an order's status",
    '/admin/orders/:order/transitions',
    'to=shipped&version=2&carrier=U%FFPS&trackingNumber=1Z999',
    'Carrier could not be read as text: check it and send the form again.',
    ['value="1Z999"'],
    [],
  ],
  [
    'restock, its units not text and another field given twice',
    '/admin/products/CAP-003/restock',
    'units=%FF&price=1&price=2&version=1',
    'id="units-CAP-003-error">Units to add could not be read as text',
    [],
    [],
  ],
  [
    'a field name that is not text',
    '/admin/products/CAP-003/restock',
    'units=4&version=1&%FF=1',
    'CAP-003: This form has a part that could not be read as text: check it and send it again.',
    ['value="4"'],
    [],
  ],
]

describe('a staff form with bytes that are not UTF-8', () => {
  it('answers each form with its page, 400, the field named and the rest kept', async () => {
    const staffCount = async () =>
      (await t.app.db.selectFrom('staff').select('id').execute()).length
    const before = {
      staff: await staffCount(),
      endpoints: await rowCount(t.app, 'webhook_endpoints'),
    }
    for (const [form, template, body, sentence, kept, never] of cases()) {
      const url = template
        .replace(':clerk', String(clerkId))
        .replace(':endpoint', endpointId)
        .replace(':order', orderNumber)
      const res = await post(url, body)
      expect(res.statusCode, form).toBe(400)
      expect(res.headers['content-type'], form).toMatch(/^text\/html/)
      expect(res.body, form).not.toContain('Bad Request</h1>')
      expect(res.body, form).toContain('<form method="post"')
      expect(res.body, form).toContain(sentence)
      for (const text of kept) expect(res.body, form).toContain(text)
      for (const text of never) expect(res.body, form).not.toContain(text)
    }
    expect(await staffCount()).toBe(before.staff)
    expect(await rowCount(t.app, 'webhook_endpoints')).toBe(before.endpoints)
  })

  it('answers `%FF` in any field of any staff form that shows its refusals with its page', async () => {
    const existing: Record<string, string> = {
      ':sku': 'CAP-003',
      ':orderNumber': orderNumber,
      ':id': '',
      ':tokenId': '999999',
      ':deliveryId': '999999',
    }
    const wrong: string[] = []
    let checked = 0
    for (const route of t.app.adminRoutes) {
      // Sign-in, signed in already, goes on (its own test, below).
      if (!route.formShowsRefusals || !route.methods.includes('POST')) continue
      if (route.url === '/admin/login') continue
      const body = (route.schema?.body ?? {}) as { properties?: Record<string, unknown> }
      const id = route.url.startsWith('/admin/staff/') ? String(clerkId) : endpointId
      const path = route.url.replace(/:\w+/g, (name) => existing[name] || id)
      for (const field of Object.keys(body.properties ?? {})) {
        // A token that is not text is a wrong one: 403 (the last test).
        if (field === '_csrf') continue
        const res = await post(path, `${field}=%FF`)
        checked++
        const page =
          res.statusCode === 400 &&
          /^text\/html/.test(res.headers['content-type'] ?? '') &&
          !res.body.includes('Bad Request</h1>') &&
          res.body.includes('<form method="post"')
        // The sentence names the field, or, for a field nobody types, says the form is damaged.
        if (!page || !/could not be read as text|damaged/.test(res.body)) {
          wrong.push(`${route.url} ${field}: ${res.statusCode}`)
        }
      }
    }
    expect(checked).toBeGreaterThan(20)
    expect(wrong).toEqual([])
  })

  it('the sign-in form: the page again with the e-mail and next kept, no attempt counted', async () => {
    const { cookie, csrf } = await signInPage(t.app)
    const res = await t.app.inject({
      method: 'POST',
      url: '/admin/login',
      headers: { ...formHeaders, cookie },
      payload: `_csrf=${encodeURIComponent(csrf)}&email=boss%40example.com&password=${secret}%FF&next=%2Fadmin%2Forders`,
    })
    expect(res.statusCode).toBe(400)
    expect(res.body).not.toContain('Bad Request</h1>')
    expect(res.body).toContain(
      'The password could not be read as text: check it and send the form again.',
    )
    expect(res.body).toContain('value="boss@example.com"')
    expect(res.body).toContain('name="next" value="/admin/orders"')
    expect(res.body).not.toContain(secret)
  })

  it('a form whose token is not text is refused as any wrong token, 403', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/admin/products/CAP-003/restock',
      headers: { ...formHeaders, cookie: boss.cookie },
      payload: '_csrf=%FF&units=5',
    })
    expect(res.statusCode).toBe(403)
  })
})
