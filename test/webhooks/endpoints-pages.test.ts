import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultRetryPolicy, disabledReason } from '../../src/webhooks/outcomes.ts'
import { buildTestApp, rowCount, type TestApp } from '../helpers/context.ts'
import { addStaff, cookieHeader, csrfOf, form, formHeaders, signIn } from '../helpers/staff.ts'
import { insertDelivery, insertLaterDelivery } from './endpoint-helpers.ts'

let t: TestApp
let boss: { cookie: string; csrf: string }

beforeAll(async () => {
  t = await buildTestApp({ WEBHOOKS_ALLOW_LOCAL: 'false', WEBHOOKS_DISPATCH: 'off' })
  await addStaff(t.app, 'boss@example.com', 'admin')
  await addStaff(t.app, 'clerk@example.com', 'staff')
  boss = await signIn(t.app, 'boss@example.com')
})
afterAll(() => t?.close())

const page = (url: string, session = boss) =>
  t.app.inject({ url, headers: { cookie: session.cookie, accept: 'text/html' } })

/** Posts a form as the browser would: the session cookie and its `_csrf` (unless given). */
const post = (url: string, fields: Record<string, string | string[]>, session = boss) => {
  const body = new URLSearchParams()
  for (const [k, v] of Object.entries({ _csrf: session.csrf, ...fields })) {
    for (const one of [v].flat()) body.append(k, one)
  }
  return t.app.inject({
    method: 'POST',
    url,
    headers: { cookie: session.cookie, ...formHeaders },
    payload: body.toString(),
  })
}

/**
 * Follows a form's 303 as a browser would, with the cookies it set (the new secret's one-time
 * cookie among them); answers the page and the cookies after it.
 */
async function follow(posted: Awaited<ReturnType<typeof post>>) {
  const jar = cookieHeader(posted.headers['set-cookie'], boss.cookie)
  const res = await page(posted.headers.location as string, { ...boss, cookie: jar })
  return { res, jar, after: cookieHeader(res.headers['set-cookie'], jar) }
}

/** The signing secret shown on a page, if any. */
const secretOn = (html: string) =>
  /<code id="secret">(whsec_[A-Za-z0-9+/=]+)<\/code>/.exec(html)?.[1]

/**
 * Registers an endpoint through the page: the POST, then (when it was not refused) the page its
 * 303 leads to, which shows the secret once. Answers that page (or the refusal), the endpoint's
 * id, the POST's answer and the cookies after the POST and after the page.
 */
async function register(url: string, eventTypes: string[] = ['order.placed', 'order.shipped']) {
  const posted = await post('/admin/webhooks', { url, description: 'Warehouse', eventTypes })
  if (posted.statusCode !== 303) return { res: posted, posted, id: undefined, jar: '', after: '' }
  const id = /^\/admin\/webhooks\/(\d+)\?registered=1$/.exec(posted.headers.location as string)?.[1]
  return { ...(await follow(posted)), posted, id }
}

/** The endpoint's stored secret. */
const storedSecret = async (id: string | undefined) =>
  (
    await t.app.db
      .selectFrom('webhook_endpoints')
      .select('secret')
      .where('id', '=', Number(id))
      .executeTakeFirstOrThrow()
  ).secret

const endpointCount = () => rowCount(t.app, 'webhook_endpoints')

describe('/admin/webhooks', () => {
  it('lists endpoints and registers one, showing the secret once', async () => {
    const empty = await page('/admin/webhooks')
    expect(empty.statusCode).toBe(200)
    expect(empty.body).toContain('No endpoints yet.')
    expect(empty.body).toContain('name="eventTypes" value="product.out_of_stock"')

    const { res, id } = await register('https://93.184.215.14/hooks')
    expect(res.statusCode).toBe(200)
    const secret = secretOn(res.body)
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(await storedSecret(id)).toBe(secret)
    expect(res.body).toContain('Endpoint registered.')

    // Never again: not on the list, not on the endpoint's page.
    const list = await page('/admin/webhooks')
    expect(list.body).toContain('https://93.184.215.14/hooks')
    expect(list.body).not.toContain('whsec_')
    const one = await page(`/admin/webhooks/${id}`)
    expect(one.statusCode).toBe(200)
    expect(one.body).not.toContain('whsec_')
    expect(one.body).toContain('No deliveries yet.')
  })

  it('refuses a private or loopback URL with the rule, keeping what was typed', async () => {
    for (const [url, words] of [
      ['https://127.0.0.1/hooks', 'loopback'],
      ['https://192.168.1.20/hooks', 'private'],
      ['http://93.184.215.14/hooks', 'https'],
    ] as const) {
      const { res } = await register(url, ['order.cancelled'])
      expect(res.statusCode, url).toBe(400)
      expect(res.body).toContain(words)
      expect(res.body).toContain(`value="${url}"`)
      expect(res.body).toMatch(/value="order.cancelled" checked/)
    }
    // The description follows the text rule, as on the API; what was typed comes back.
    const hidden = await post('/admin/webhooks', {
      url: 'https://93.184.215.14/hooks',
      description: 'a\u0001b\u202eevil',
      eventTypes: ['order.placed'],
    })
    expect(hidden.statusCode).toBe(400)
    expect(hidden.body).toContain(
      'The description must not contain control, invisible or formatting characters.',
    )
    // Fits as typed (200), not in NFC (600, as stored): both counts said, as the API says them.
    const longer = await post('/admin/webhooks', {
      url: 'https://93.184.215.14/hooks',
      description: '\ufb2c'.repeat(200),
      eventTypes: ['order.placed'],
    })
    expect(longer.statusCode).toBe(400)
    expect(longer.body).toContain(
      'The description may be 500 characters at most as stored: the 200 characters typed become 600 in Unicode&#39;s standard form (NFC), which writes a few characters as two or three.',
    )
    const tooLong = await post('/admin/webhooks', {
      url: 'https://93.184.215.14/hooks',
      description: 'x'.repeat(501),
      eventTypes: ['order.placed'],
    })
    expect(tooLong.body).toContain('The description may be 500 characters at most.<')
    const none = await register('https://93.184.215.14/no-events', [])
    expect(none.res.statusCode).toBe(400)
    expect(none.res.body).toContain('Choose at least one event.')
  })

  it('shows every field error of a refused form at once, on the list and the endpoint page', async () => {
    const both = await post('/admin/webhooks', { url: 'ftp://x', description: 'a\u0001b' })
    expect(both.statusCode).toBe(400)
    const fieldErrors = (html: string) =>
      [...html.matchAll(/<p class="field-error" id="(\w+)-error">/g)].map((m) => m[1])
    expect(fieldErrors(both.body)).toEqual(['url', 'description', 'eventTypes'])
    expect(both.body).toContain('Choose at least one event.')
    expect(both.body).toContain('Please check the highlighted fields below.')
    expect(both.body).toContain('value="ftp://x"')
    const { id } = await register('https://93.184.215.14/all-errors')
    const edit = await post(`/admin/webhooks/${id}`, { url: '', eventTypes: ['order.nope'] })
    expect(edit.statusCode).toBe(400)
    expect(fieldErrors(edit.body)).toEqual(['url', 'eventTypes'])
    expect(edit.body).toContain('Type the URL events go to.')
    expect(edit.body).toMatch(/There is no event type ("|&quot;|&#34;)order.nope/)
    // Quoted as sent, but a bidi override shown as its code point, not raw (src/text.ts).
    const bidi = await post(`/admin/webhooks/${id}`, { eventTypes: ['order.\u202enope'] })
    expect(bidi.body).toMatch(/There is no event type ("|&quot;|&#34;)order\.\\u\{202E\}nope/)
    expect(bidi.body).not.toContain('\u202e')
  })

  it('refuses a form without the session CSRF token (403), and changes nothing', async () => {
    const before = await t.app.db
      .selectFrom('webhook_endpoints')
      .select((e) => e.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow()
    const { id } = await register('https://93.184.215.14/csrf')
    for (const url of [
      '/admin/webhooks',
      `/admin/webhooks/${id}`,
      `/admin/webhooks/${id}/enabled`,
      `/admin/webhooks/${id}/rotate-secret`,
      `/admin/webhooks/${id}/end-secret-overlap`,
      `/admin/webhooks/${id}/delete`,
      `/admin/webhooks/${id}/deliveries/1/redeliver`,
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url,
        headers: { cookie: boss.cookie, ...formHeaders },
        payload: form({
          url: 'https://93.184.215.14/x',
          eventTypes: 'order.placed',
          confirm: 'yes',
          enabled: 'false',
        }),
      })
      expect(res.statusCode, url).toBe(403)
      expect(res.body).not.toContain('whsec_')
    }
    const after = await t.app.db
      .selectFrom('webhook_endpoints')
      .select((e) => e.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow()
    expect(Number(after.n)).toBe(Number(before.n) + 1)
    expect((await page(`/admin/webhooks/${id}`)).body).toContain('Enabled')
  })

  it('is for admins: staff get 403, anonymous visitors the sign-in page', async () => {
    const clerk = await signIn(t.app, 'clerk@example.com')
    expect((await page('/admin/webhooks', clerk)).statusCode).toBe(403)
    expect(
      (await post('/admin/webhooks', { url: 'https://93.184.215.14/s' }, clerk)).statusCode,
    ).toBe(403)
    const anonymous = await t.app.inject({
      url: '/admin/webhooks',
      headers: { accept: 'text/html' },
    })
    expect(anonymous.statusCode).toBe(303)
    expect(anonymous.headers.location).toBe('/admin/login?next=%2Fadmin%2Fwebhooks')
    const home = await page('/admin', clerk)
    expect(home.body).not.toContain('href="/admin/webhooks"')
    expect((await page('/admin')).body).toContain('href="/admin/webhooks"')
  })

  it('registers by POST, then 303 to the page that shows the secret once: a reload registers nothing', async () => {
    const before = await endpointCount()
    const { posted, res, id, after } = await register('https://93.184.215.14/prg')
    expect(posted.statusCode).toBe(303)
    expect(posted.body).not.toContain('whsec_')
    const secret = secretOn(res.body) as string
    expect(await storedSecret(id)).toBe(secret)
    // Never in a URL: the Location is the page's, the value travels in a cookie.
    expect(posted.headers.location).not.toContain('whsec')
    expect(posted.headers.location).not.toContain(encodeURIComponent(secret))
    expect(await endpointCount()).toBe(before + 1)
    // A reload is a GET of that page: no second endpoint, no secret, and it says why.
    const reloaded = await page(posted.headers.location as string, { ...boss, cookie: after })
    expect(reloaded.statusCode).toBe(200)
    expect(reloaded.body).not.toContain('whsec_')
    expect(reloaded.body).toContain('shown once')
    expect(await endpointCount()).toBe(before + 1)
  })

  it('makes one endpoint of a form sent twice (a double submit, same CSRF token): 409 naming it', async () => {
    const before = await endpointCount()
    const fields = {
      url: 'https://93.184.215.14/twice',
      description: 'Twice',
      eventTypes: ['order.placed'],
    }
    // At the same moment, as a double click sends them: the lock lets one in.
    const answers = await Promise.all([
      post('/admin/webhooks', fields),
      post('/admin/webhooks', fields),
    ])
    const statuses = answers.map((a) => a.statusCode).sort()
    expect(statuses).toEqual([303, 409])
    expect(await endpointCount()).toBe(before + 1)
    const made = answers.find((a) => a.statusCode === 303) as (typeof answers)[number]
    const id = /^\/admin\/webhooks\/(\d+)\?registered=1$/.exec(made.headers.location as string)?.[1]
    const refused = answers.find((a) => a.statusCode === 409) as (typeof answers)[number]
    expect(refused.body).toContain(`is already the URL of endpoint ${id}`)
    expect(refused.body).toContain('rotate the secret')
    expect(refused.body).not.toContain('whsec_')
    // What was typed is kept; a later submit of it is refused alike.
    expect(refused.body).toContain('value="https://93.184.215.14/twice"')
    expect((await post('/admin/webhooks', fields)).statusCode).toBe(409)
    expect(await endpointCount()).toBe(before + 1)
  })
})

describe('the one showing of a new secret', () => {
  it('rotates by POST, then 303 to the page that shows it once: a reload rotates nothing', async () => {
    const { id, after } = await register('https://93.184.215.14/rotate-prg')
    const first = await storedSecret(id)
    const rotated = await post(
      `/admin/webhooks/${id}/rotate-secret`,
      {},
      { ...boss, cookie: after },
    )
    expect(rotated.statusCode).toBe(303)
    expect(rotated.headers.location).toBe(`/admin/webhooks/${id}?rotated=1`)
    expect(rotated.body).not.toContain('whsec_')
    const shown = await follow(rotated)
    const secret = secretOn(shown.res.body)
    expect(secret).toBeDefined()
    expect(secret).not.toBe(first)
    expect(await storedSecret(id)).toBe(secret)
    expect(shown.res.body).toContain('signed with it, and with the previous one too until')
    const reloaded = await page(`/admin/webhooks/${id}?rotated=1`, { ...boss, cookie: shown.after })
    expect(reloaded.body).not.toContain('whsec_')
    expect(reloaded.body).toContain('shown once')
    expect(await storedSecret(id)).toBe(secret)
  })

  it('shows only the current secret of the endpoint the page is about', async () => {
    const one = await post('/admin/webhooks', {
      url: 'https://93.184.215.14/one',
      eventTypes: 'order.placed',
    })
    const jar = cookieHeader(one.headers['set-cookie'], boss.cookie)
    const oneId = /(\d+)\?/.exec(one.headers.location as string)?.[1]
    const { id: otherId } = await register('https://93.184.215.14/other')
    // Another endpoint's page leaves the cookie alone and shows nothing.
    const elsewhere = await page(`/admin/webhooks/${otherId}?registered=1`, {
      ...boss,
      cookie: jar,
    })
    expect(elsewhere.body).not.toContain('whsec_')
    expect(elsewhere.headers['set-cookie']).toBeUndefined()
    // A value that is not the endpoint's secret (planted, or replaced by a rotation since).
    const forged = `${boss.cookie}; webhook_new_secret=${oneId}.whsec_${'A'.repeat(43)}=`
    expect(
      (await page(`/admin/webhooks/${oneId}`, { ...boss, cookie: forged })).body,
    ).not.toContain('whsec_')
    await post(`/admin/webhooks/${oneId}/rotate-secret`, {})
    const stale = await page(`/admin/webhooks/${oneId}?registered=1`, { ...boss, cookie: jar })
    expect(stale.body).not.toContain('whsec_')
    expect(stale.body).toContain('shown once')
  })
})

describe('/admin/webhooks/:id', () => {
  it('changes, disables, enables, rotates and deletes', async () => {
    const { id } = await register('https://93.184.215.14/edit')
    const saved = await post(`/admin/webhooks/${id}`, {
      url: 'https://93.184.215.15/edited',
      description: 'Accounting',
      eventTypes: ['order.delivered', 'product.out_of_stock'],
    })
    expect(saved.statusCode).toBe(303)
    expect(saved.headers.location).toBe(`/admin/webhooks/${id}?updated=1`)
    const edited = await page(saved.headers.location as string)
    expect(edited.body).toContain('Changes saved.')
    expect(edited.body).toContain('value="https://93.184.215.15/edited"')
    expect(edited.body).toMatch(/value="product.out_of_stock" checked/)
    expect(edited.body).not.toMatch(/value="order.placed" checked/)

    const refused = await post(`/admin/webhooks/${id}`, {
      url: 'https://172.16.0.1/',
      eventTypes: 'order.placed',
    })
    expect(refused.statusCode).toBe(400)
    expect(refused.body).toContain('private')

    expect((await post(`/admin/webhooks/${id}/enabled`, { enabled: 'false' })).statusCode).toBe(303)
    expect((await page(`/admin/webhooks/${id}`)).body).toContain(
      '<strong>Disabled</strong> by an admin',
    )
    expect((await post(`/admin/webhooks/${id}/enabled`, { enabled: 'true' })).statusCode).toBe(303)

    const rotated = await post(`/admin/webhooks/${id}/rotate-secret`, {})
    expect(rotated.statusCode).toBe(303)
    expect(rotated.headers.location).toBe(`/admin/webhooks/${id}?rotated=1`)
    expect((await follow(rotated)).res.body).toMatch(/<code id="secret">whsec_/)

    const unconfirmed = await post(`/admin/webhooks/${id}/delete`, {})
    expect(unconfirmed.statusCode).toBe(400)
    expect(unconfirmed.body).toContain('Tick the box')
    const deleted = await post(`/admin/webhooks/${id}/delete`, { confirm: 'yes' })
    expect(deleted.statusCode).toBe(303)
    expect((await page(`/admin/webhooks/${id}`)).statusCode).toBe(404)
    const list = await page(deleted.headers.location as string)
    expect(list.body).toContain('The endpoint and its deliveries were deleted.')
    // A link cannot make the page name an endpoint as deleted.
    const forged = await page('/admin/webhooks?deleted=https%3A%2F%2Fpay.example%2F')
    expect(forged.body).not.toContain('pay.example')
  })

  it('says until when the previous secret signs, and ends that by its form (admins, CSRF)', async () => {
    const { id } = await register('https://93.184.215.14/overlap')
    const overlapLine = 'The previous signing secret still signs every delivery too'
    const endForm = `action="/admin/webhooks/${id}/end-secret-overlap"`
    const fresh = await page(`/admin/webhooks/${id}`)
    expect(fresh.body).not.toContain(overlapLine)
    expect(fresh.body).not.toContain(endForm)
    expect(fresh.body).toContain('with the replaced one too for 24 hours')

    const old = await storedSecret(id)
    const rotated = await follow(await post(`/admin/webhooks/${id}/rotate-secret`, {}))
    const { previous_secret_until: until } = await t.app.db
      .selectFrom('webhook_endpoints')
      .select('previous_secret_until')
      .where('id', '=', Number(id))
      .executeTakeFirstOrThrow()
    const iso = new Date(until as Date).toISOString()
    const shown = `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`
    expect(rotated.res.body).toContain(`and with the previous one too until ${shown}`)
    expect(rotated.res.body).toContain(
      `${overlapLine}, after the current one, until <time datetime="${iso}">${shown}</time>.`,
    )
    expect(rotated.res.body).toContain(endForm)
    expect(rotated.res.body).not.toContain(old) // the new secret is shown once; never the old

    // Refused for staff and without the session's CSRF token: the overlap stays.
    const clerk = await signIn(t.app, 'clerk@example.com')
    const url = `/admin/webhooks/${id}/end-secret-overlap`
    expect((await post(url, {}, clerk)).statusCode).toBe(403)
    expect((await post(url, { _csrf: 'nope' })).statusCode).toBe(403)
    expect((await page(`/admin/webhooks/${id}`)).body).toContain(overlapLine)

    const ended = await post(url, {})
    expect(ended.statusCode).toBe(303)
    expect(ended.headers.location).toBe(`/admin/webhooks/${id}?overlapEnded=1`)
    const after = await page(ended.headers.location as string)
    expect(after.body).toContain('The previous secret is no longer used')
    expect(after.body).not.toContain(overlapLine)
    expect(after.body).not.toContain(endForm)
    const stored = await t.app.db
      .selectFrom('webhook_endpoints')
      .select(['previous_secret', 'previous_secret_until'])
      .where('id', '=', Number(id))
      .executeTakeFirstOrThrow()
    expect(stored).toEqual({ previous_secret: null, previous_secret_until: null })
    expect((await post('/admin/webhooks/999999/end-secret-overlap', {})).statusCode).toBe(404)
  })

  it('shows an endpoint the dispatcher disabled, and its reason', async () => {
    const { id } = await register('https://93.184.215.14/dead')
    await sql`update webhook_endpoints set enabled = false,
      failing_since = '2026-11-25T00:00:00Z',
      disabled_reason = ${disabledReason(defaultRetryPolicy)}
      where id = ${Number(id)}`.execute(t.app.db)
    const res = await page(`/admin/webhooks/${id}`)
    // The reason, then since when, as every time on these pages (src/time.ts): no raw ISO text.
    const since = '<time datetime="2026-11-25T00:00:00.000Z">2026-11-25 00:00 UTC</time>'
    expect(res.body).toContain(
      `<strong>Disabled by the dispatcher</strong>: every delivery failed for 3 days, with no 2xx; re-enable it once it answers. Failing since ${since}.`,
    )
    expect(res.body).not.toContain('2026-11-25T00:00:00Z')
    const list = (await page('/admin/webhooks')).body
    expect(list).toContain(
      '<strong>disabled by the dispatcher</strong>: every delivery failed for 3 days, with no 2xx; re-enable it once it answers; failing since <time',
    )
    expect(list).toContain(since)
  })

  it('says what a pending delivery waits for: the order’s earlier event, still pending', async () => {
    const { id } = await register('https://93.184.215.14/in-order')
    const placed = await insertDelivery(t.app.db, Number(id), {
      status: 'pending',
      attempts: 4,
      lastResponseStatus: 500,
      lastError: 'HTTP 500',
    })
    const packed = await insertLaterDelivery(t.app.db, Number(id), placed.orderNumber)
    const res = await page(`/admin/webhooks/${id}`)
    const row = (delivery: string) =>
      new RegExp(`<tr id="delivery-${delivery}"[\\s\\S]*?</tr>`).exec(res.body)?.[0] ?? ''
    expect(row(packed)).toContain(
      `waits for the order's earlier event, <a href="#delivery-${placed.id}">delivery ${placed.id}</a>`,
    )
    expect(row(packed)).not.toContain('Send now')
    // The earlier one waits for its own next try, which a button brings forward.
    expect(row(placed.id)).not.toContain('waits for')
    expect(row(placed.id)).toContain('Send now')
    // Delivered: the later one waits for nothing.
    await sql`update webhook_deliveries set status = 'delivered' where id = ${placed.id}`.execute(
      t.app.db,
    )
    expect((await page(`/admin/webhooks/${id}`)).body).not.toContain('waits for the order')
  })

  it('shows recent deliveries newest first, and redelivers a failed one', async () => {
    const { id } = await register('https://93.184.215.14/deliveries')
    const endpoint = Number(id)
    const failed = await insertDelivery(t.app.db, endpoint, {
      status: 'failed',
      attempts: 19,
      lastResponseStatus: 500,
      lastError: 'HTTP 500 <b>oops</b>',
    })
    const delivered = await insertDelivery(t.app.db, endpoint, {
      status: 'delivered',
      attempts: 1,
      lastResponseStatus: 204,
    })
    const res = await page(`/admin/webhooks/${id}`)
    expect(res.statusCode).toBe(200)
    const rows = [...res.body.matchAll(/<tr id="delivery-(\d+)" data-status="(\w+)">/g)].map(
      (m) => [m[1], m[2]],
    )
    expect(rows).toEqual([
      [delivered.id, 'delivered'],
      [failed.id, 'failed'],
    ])
    expect(res.body).toContain(failed.orderNumber)
    expect(res.body).toContain('HTTP 500 &lt;b&gt;oops&lt;/b&gt;')
    expect(res.body).toContain(`/admin/webhooks/${id}/deliveries/${failed.id}/redeliver`)

    const again = await post(`/admin/webhooks/${id}/deliveries/${failed.id}/redeliver`, {})
    expect(again.statusCode).toBe(303)
    expect(again.headers.location).toBe(`/admin/webhooks/${id}?redelivered=${failed.id}`)
    const row = await sql<{ status: string; attempts: number; due: boolean }>`
      select status, attempts, next_attempt_at <= now() as due
      from webhook_deliveries where id = ${failed.id}`.execute(t.app.db)
    expect(row.rows[0]).toEqual({ status: 'pending', attempts: 19, due: true })
    const after = await page(`/admin/webhooks/${id}?redelivered=${failed.id}`)
    expect(after.body).toContain(`Delivery ${failed.id} will be sent again.`)
    expect(after.body).toContain(`<tr id="delivery-${failed.id}" data-status="pending">`)
    expect(after.body).not.toContain(`/deliveries/${failed.id}/redeliver`)

    // Pending, waiting for its next try: a button sends it now; tried just now (it may be on
    // its way): refused with the reason.
    await sql`update webhook_deliveries set next_attempt_at = now() + interval '1 hour'
      where id = ${failed.id}`.execute(t.app.db)
    const waiting = await page(`/admin/webhooks/${id}`)
    expect(waiting.body).toMatch(
      new RegExp(
        `/deliveries/${failed.id}/redeliver">\\s*<input[^>]+>\\s*<button type="submit" class="button">Send now<`,
      ),
    )
    await sql`update webhook_deliveries set last_attempt_at = now() where id = ${failed.id}`.execute(
      t.app.db,
    )
    const twice = await post(`/admin/webhooks/${id}/deliveries/${failed.id}/redeliver`, {})
    expect(twice.statusCode).toBe(409)
    expect(twice.body).toContain('was tried less than 30 s ago and may still be on its way')
  })

  it('names in a notice only a delivery of this endpoint that was redelivered', async () => {
    const { id } = await register('https://93.184.215.14/notices')
    const other = await register('https://93.184.215.14/notices-elsewhere')
    const mine = await insertDelivery(t.app.db, Number(id), { status: 'failed', attempts: 20 })
    const theirs = await insertDelivery(t.app.db, Number(other.id), {
      status: 'failed',
      attempts: 20,
    })
    const notice = /Delivery \d+ (will be|was) sent again/
    // None there, another endpoint's, one never redelivered, not a number: no notice.
    for (const named of ['99', theirs.id, mine.id, 'abc', '99999999999999999999']) {
      const res = await page(`/admin/webhooks/${id}?redelivered=${named}`)
      expect(res.statusCode, named).toBe(200)
      expect(res.body, named).not.toMatch(notice)
    }
    const posted = await post(`/admin/webhooks/${id}/deliveries/${mine.id}/redeliver`, {})
    expect(posted.statusCode).toBe(303)
    const after = await page(posted.headers.location as string)
    expect(after.body).toContain(`Delivery ${mine.id} will be sent again.`)
    // Sent since, then reloaded: said as it is now.
    await sql`update webhook_deliveries set status = 'delivered' where id = ${mine.id}`.execute(
      t.app.db,
    )
    const later = await page(`/admin/webhooks/${id}?redelivered=0${mine.id}`)
    expect(later.body).toContain(`Delivery ${mine.id} was sent again: its result is below.`)
    const elsewhere = await page(`/admin/webhooks/${other.id}?redelivered=${mine.id}`)
    expect(elsewhere.body).not.toMatch(notice)
  })

  it('refuses a URL with a tab or on port 0, as typed, with the reason (400)', async () => {
    const before = await endpointCount()
    const tab = await register('https://93.184.215.14/a\tb')
    expect(tab.res.statusCode).toBe(400)
    expect(tab.res.body).toContain('it has a tab at character 24')
    const zero = await register('https://93.184.215.14:0/h')
    expect(zero.res.statusCode).toBe(400)
    expect(zero.res.body).toContain('The URL must not use port 0')
    const { id } = await register('https://93.184.215.14/typed')
    const changed = await post(`/admin/webhooks/${id}`, {
      url: 'https://93.184.215.14/ty\nped',
      description: '',
      eventTypes: ['order.placed'],
    })
    expect(changed.statusCode).toBe(400)
    expect(changed.body).toContain('U+000A')
    expect(await endpointCount()).toBe(before + 1)
  })

  it('keeps the CSRF token on every form of the page', async () => {
    const { id } = await register('https://93.184.215.14/forms')
    const body = (await page(`/admin/webhooks/${id}`)).body
    const forms = body.match(/<form method="post"/g) ?? []
    const tokens = body.match(/name="_csrf" value="[^"]+"/g) ?? []
    expect(forms.length).toBeGreaterThanOrEqual(4)
    expect(tokens.length).toBeGreaterThanOrEqual(forms.length)
    expect(csrfOf(body)).toBe(boss.csrf)
  })
})
