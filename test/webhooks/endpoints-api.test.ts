import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultRetryPolicy, disabledReason } from '../../src/webhooks/outcomes.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken } from '../helpers/staff.ts'
import { insertDelivery, insertLaterDelivery } from './endpoint-helpers.ts'

const secretPattern = /^whsec_[A-Za-z0-9+/]{43}=$/
const events = ['order.placed', 'order.shipped']

describe('the webhook endpoints API, production policy (WEBHOOKS_ALLOW_LOCAL=false)', () => {
  let t: TestApp
  let admin: Record<string, string>
  let clerk: Record<string, string>
  const call = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
    headers = admin,
  ) => t.app.inject({ method, url, payload, headers })

  beforeAll(async () => {
    t = await buildTestApp(
      { WEBHOOKS_ALLOW_LOCAL: 'false', WEBHOOKS_DISPATCH: 'off' },
      { logs: true },
    )
    const bossId = await addStaff(t.app, 'boss@example.com', 'admin')
    const clerkId = await addStaff(t.app, 'clerk@example.com', 'staff')
    admin = { authorization: `Bearer ${await addToken(t.app, bossId)}` }
    clerk = { authorization: `Bearer ${await addToken(t.app, clerkId)}` }
  })
  afterAll(() => t?.close())

  it('creates, lists, gets, updates, rotates and deletes; the secret only in create and rotate', async () => {
    const created = await call('POST', '/api/admin/webhooks', {
      url: 'https://93.184.215.14/hooks/orders',
      description: '  Warehouse  ',
      eventTypes: events,
    })
    expect(created.statusCode, created.body).toBe(201)
    const endpoint = created.json()
    expect(created.headers.location).toBe(`/api/admin/webhooks/${endpoint.id}`)
    expect(endpoint).toMatchObject({
      url: 'https://93.184.215.14/hooks/orders',
      description: 'Warehouse',
      eventTypes: events,
      enabled: true,
      disabledReason: null,
      failingSince: null,
      previousSecretUntil: null,
    })
    expect(endpoint.secret).toMatch(secretPattern)
    const stored = await t.app.db
      .selectFrom('webhook_endpoints')
      .select(['secret', 'created_by'])
      .where('id', '=', endpoint.id)
      .executeTakeFirstOrThrow()
    expect(stored.secret).toBe(endpoint.secret)
    expect(stored.created_by).not.toBeNull()

    const list = await call('GET', '/api/admin/webhooks')
    expect(list.statusCode).toBe(200)
    expect(list.json()).toHaveLength(1)
    expect(list.body).not.toContain(endpoint.secret)
    expect(list.json()[0]).not.toHaveProperty('secret')

    const one = await call('GET', `/api/admin/webhooks/${endpoint.id}`)
    expect(one.statusCode).toBe(200)
    expect(one.body).not.toContain('whsec_')
    const { secret: _, ...withoutSecret } = endpoint
    expect(one.json()).toEqual(withoutSecret)

    const patched = await call('PATCH', `/api/admin/webhooks/${endpoint.id}`, {
      description: 'Warehouse (new)',
      eventTypes: ['order.cancelled'],
      enabled: false,
    })
    expect(patched.statusCode, patched.body).toBe(200)
    expect(patched.json()).toMatchObject({
      description: 'Warehouse (new)',
      eventTypes: ['order.cancelled'],
      enabled: false,
      url: endpoint.url,
    })
    expect(patched.body).not.toContain('whsec_')

    const rotated = await call('POST', `/api/admin/webhooks/${endpoint.id}/rotate-secret`)
    expect(rotated.statusCode).toBe(200)
    expect(rotated.json().secret).toMatch(secretPattern)
    expect(rotated.json().secret).not.toBe(endpoint.secret)
    // The replaced secret still signs for a while (secret-overlap.test.ts), and is never shown.
    expect(rotated.json().previousSecretUntil).toEqual(expect.any(String))
    expect(rotated.body).not.toContain(endpoint.secret)
    const afterRotation = await call('GET', `/api/admin/webhooks/${endpoint.id}`)
    expect(afterRotation.json().previousSecretUntil).toBe(rotated.json().previousSecretUntil)
    expect(afterRotation.body).not.toContain('whsec_')

    expect((await call('DELETE', `/api/admin/webhooks/${endpoint.id}`)).statusCode).toBe(204)
    expect((await call('GET', `/api/admin/webhooks/${endpoint.id}`)).statusCode).toBe(404)
    expect((await call('DELETE', `/api/admin/webhooks/${endpoint.id}`)).statusCode).toBe(404)

    // Never logged: neither secret appears in any log line.
    const log = t.output.join('')
    expect(log).toContain('webhook endpoint registered')
    expect(log).not.toContain(endpoint.secret)
    expect(log).not.toContain(rotated.json().secret)
    expect(log).not.toContain('whsec_')
  })

  it.each([
    ['https://127.0.0.1/hook', 'loopback'],
    ['https://10.0.0.8/hook', 'private'],
    ['https://169.254.169.254/latest/meta-data/', 'metadata'],
    ['https://[::1]/hook', 'loopback'],
    ['https://localhost/hook', 'local name'],
    ['http://93.184.215.14/hook', 'https'],
    ['https://u:p@93.184.215.14/hook', 'user name or password'],
    ['hooks.example.com/x', 'absolute URL'],
    ['https:93.184.215.14/hook', 'https://host/path'],
    ['https:/93.184.215.14/hook', 'https://host/path'],
    ['https://93.184.215.14/a/../hook', 'write the path without . or .. segments'],
    ['https://0x5db8d70e/hook', 'write the IPv4 address in dotted decimal, as 93.184.215.14'],
    ['https://%39%33.184.215.14/hook', 'host must be written without % escapes'],
    ['https://@93.184.215.14/hook', 'must not have an @ before its host'],
  ])('refuses %s with a 400 naming the rule (%s)', async (url, words) => {
    const res = await call('POST', '/api/admin/webhooks', { url, eventTypes: events })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toMatch(/^url: /)
    expect(res.json().message).toContain(words)
  })

  it('refuses a private URL on update too, and keeps the old one', async () => {
    const created = (
      await call('POST', '/api/admin/webhooks', {
        url: 'https://93.184.215.14/a',
        eventTypes: events,
      })
    ).json()
    const res = await call('PATCH', `/api/admin/webhooks/${created.id}`, {
      url: 'https://192.168.0.10/a',
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('private')
    expect((await call('GET', `/api/admin/webhooks/${created.id}`)).json().url).toBe(created.url)
  })

  it('refuses port 0 and a URL the parser would change (a tab), on create and update', async () => {
    const refused = async (method: 'POST' | 'PATCH', path: string, url: string) => {
      const res = await call(method, path, { url, eventTypes: events })
      expect(res.statusCode, url).toBe(400)
      return res.json().message as string
    }
    expect(await refused('POST', '/api/admin/webhooks', 'https://93.184.215.14:0/h')).toBe(
      'url: The URL must not use port 0: give a port from 1 to 65535, or none.',
    )
    // Stored as /ab until refused: the parser drops a tab or a line break anywhere.
    expect(await refused('POST', '/api/admin/webhooks', 'https://93.184.215.14/a\tb')).toContain(
      'url: The URL must not contain spaces, tabs, line breaks or other control or invisible characters: it has a tab at character 24.',
    )
    expect(await refused('POST', '/api/admin/webhooks', 'https://93.184.215.14/a\nb')).toContain(
      'U+000A',
    )
    const list = (await call('GET', '/api/admin/webhooks')).json() as { url: string }[]
    expect(list.map((e) => e.url)).not.toContain('https://93.184.215.14/ab')
    const created = (
      await call('POST', '/api/admin/webhooks', {
        url: 'https://93.184.215.14/tab',
        eventTypes: events,
      })
    ).json()
    const path = `/api/admin/webhooks/${created.id}`
    expect(await refused('PATCH', path, 'https://93.184.215.14/t\tab')).toContain('a tab')
    expect(await refused('PATCH', path, 'https://93.184.215.14:00/tab')).toContain('port 0')
    expect((await call('GET', path)).json().url).toBe('https://93.184.215.14/tab')
  })

  it('refuses bad event lists, unknown fields and empty patches', async () => {
    const url = 'https://93.184.215.14/b'
    for (const body of [
      { url, eventTypes: [] },
      { url, eventTypes: ['order.exploded'] },
      { url, eventTypes: ['order.placed', 'order.placed'] },
      { url },
      { url, eventTypes: events, secret: 'whsec_mine' },
    ]) {
      const res = await call('POST', '/api/admin/webhooks', body)
      expect(res.statusCode, JSON.stringify(body)).toBe(400)
    }
    const created = (await call('POST', '/api/admin/webhooks', { url, eventTypes: events })).json()
    expect((await call('PATCH', `/api/admin/webhooks/${created.id}`, {})).statusCode).toBe(400)
    // Well formed but past the column: no such endpoint (src/ids.ts).
    expect((await call('GET', '/api/admin/webhooks/99999999999')).statusCode).toBe(404)
    expect((await call('GET', '/api/admin/webhooks/2147483648')).statusCode).toBe(404)
  })

  it('holds the description to the text rule (src/text.ts), on create and update', async () => {
    const url = 'https://93.184.215.14/text'
    const hidden = [
      'a\u0001b\u202eevil',
      'a\ud800b',
      'line\u2028break',
      'zero\u200bwidth',
      '\u0000',
    ]
    for (const description of hidden) {
      const res = await call('POST', '/api/admin/webhooks', {
        url,
        eventTypes: events,
        description,
      })
      expect(res.statusCode, JSON.stringify(description)).toBe(400)
      expect(res.json().errors).toEqual([{ pointer: '/description', detail: expect.any(String) }])
    }
    const created = await call('POST', '/api/admin/webhooks', {
      url,
      eventTypes: events,
      description: ' Cafe\u0301 👩‍👩‍👧 ',
    })
    expect(created.statusCode).toBe(201)
    expect(created.json().description).toBe('Café 👩‍👩‍👧')
    const id = created.json().id
    const patch = await call('PATCH', `/api/admin/webhooks/${id}`, { description: 'a\u0001b' })
    expect(patch.statusCode).toBe(400)
    expect(patch.json().message).toContain('description')
    expect((await call('GET', `/api/admin/webhooks/${id}`)).json().description).toBe('Café 👩‍👩‍👧')
    const blank = await call('PATCH', `/api/admin/webhooks/${id}`, { description: '   ' })
    expect(blank.statusCode).toBe(200)
    expect(blank.json().description).toBe('')
    await call('DELETE', `/api/admin/webhooks/${id}`)
  })

  it('says a description or an event list of the wrong type is of the wrong type', async () => {
    const url = 'https://93.184.215.14/types'
    const created = (await call('POST', '/api/admin/webhooks', { url, eventTypes: events })).json()
    for (const description of [5, null, ['a'], { a: 1 }, true]) {
      const create = await call('POST', '/api/admin/webhooks', {
        url,
        eventTypes: events,
        description,
      })
      const patch = await call('PATCH', `/api/admin/webhooks/${created.id}`, { description })
      for (const res of [create, patch]) {
        expect(res.statusCode, JSON.stringify(description)).toBe(400)
        expect(res.json().message).toBe('description must be text')
        expect(res.json().errors).toEqual([{ pointer: '/description', detail: 'must be text' }])
      }
    }
    // The API takes a list only (the page's form takes one checkbox or several: text or a list).
    for (const eventTypes of ['order.placed', 5, null]) {
      const res = await call('POST', '/api/admin/webhooks', { url, eventTypes })
      expect(res.statusCode, JSON.stringify(eventTypes)).toBe(400)
      expect(res.json().message).toBe('eventTypes must be a list')
    }
    // The length sentence stays for text that is too long.
    const long = await call('PATCH', `/api/admin/webhooks/${created.id}`, {
      description: 'x'.repeat(501),
    })
    expect(long.json().message).toBe(
      'description must be a description of at most 500 characters: it has 501',
    )
    await call('DELETE', `/api/admin/webhooks/${created.id}`)
  })

  it('refuses a URL another endpoint has, on create and update: 409 naming it (one endpoint per URL)', async () => {
    const url = 'https://93.184.215.14/once'
    const first = await call('POST', '/api/admin/webhooks', { url, eventTypes: events })
    expect(first.statusCode).toBe(201)
    const { id } = first.json()
    const again = await call('POST', '/api/admin/webhooks', { url, eventTypes: ['order.placed'] })
    expect(again.statusCode).toBe(409)
    expect(again.json().message).toBe(
      `${url} is already the URL of endpoint ${id}: change or delete that one rather than register it twice.`,
    )
    const other = await call('POST', '/api/admin/webhooks', {
      url: 'https://93.184.215.14/other',
      eventTypes: events,
    })
    const moved = await call('PATCH', `/api/admin/webhooks/${other.json().id}`, { url })
    expect(moved.statusCode).toBe(409)
    expect(moved.json().message).toContain(`endpoint ${id}:`)
    // Its own URL again is no conflict.
    expect((await call('PATCH', `/api/admin/webhooks/${id}`, { url })).statusCode).toBe(200)
    const rows = await t.app.db
      .selectFrom('webhook_endpoints')
      .select('id')
      .where('url', '=', url)
      .execute()
    expect(rows).toEqual([{ id }])
  })

  it('stores a URL without its #fragment or an empty ?: no second endpoint on one URL', async () => {
    const url = 'https://93.184.215.14/fragment'
    const first = await call('POST', '/api/admin/webhooks', { url: `${url}#a`, eventTypes: events })
    expect(first.statusCode).toBe(201)
    expect(first.json().url).toBe(url)
    const { id } = first.json()
    for (const again of [url, `${url}#b`, `${url}#`, `${url}?`, `${url}?#e`]) {
      const res = await call('POST', '/api/admin/webhooks', { url: again, eventTypes: events })
      expect(res.statusCode, again).toBe(409)
      expect(res.json().message).toContain(`endpoint ${id}:`)
    }
    const other = await call('POST', '/api/admin/webhooks', {
      url: 'https://93.184.215.14/fragment-other',
      eventTypes: events,
    })
    const moved = await call('PATCH', `/api/admin/webhooks/${other.json().id}`, { url: `${url}#c` })
    expect(moved.statusCode).toBe(409)
    const own = await call('PATCH', `/api/admin/webhooks/${id}`, { url: `${url}#d` })
    expect(own.statusCode).toBe(200)
    expect(own.json().url).toBe(url)
  })

  it('refuses another spelling of a URL, also of one stored before URLs were normalised', async () => {
    const first = await call('POST', '/api/admin/webhooks', {
      url: 'https://[::ffff:93.184.215.14]/sp%65lled',
      eventTypes: events,
    })
    expect(first.statusCode, first.body).toBe(201)
    expect(first.json().url).toBe('https://93.184.215.14/spelled')
    for (const again of ['https://93.184.215.14/spelled', 'https://93.184.215.14/%73pelled']) {
      const res = await call('POST', '/api/admin/webhooks', { url: again, eventTypes: events })
      expect(res.statusCode, again).toBe(409)
    }
    // A row stored in an older spelling is found by its normalised one.
    await sql`update webhook_endpoints set url = 'https://93.184.215.14/%6Fld'
      where id = ${first.json().id}`.execute(t.app.db)
    const old = await call('POST', '/api/admin/webhooks', {
      url: 'https://93.184.215.14/old',
      eventTypes: events,
    })
    expect(old.statusCode, old.body).toBe(409)
    expect(old.json().message).toContain(`endpoint ${first.json().id}:`)
  })

  it('registers an endpoint disabled when asked (enabled: false), enabled by default', async () => {
    const off = await call('POST', '/api/admin/webhooks', {
      url: 'https://93.184.215.14/off',
      eventTypes: events,
      enabled: false,
    })
    expect(off.statusCode, off.body).toBe(201)
    expect(off.json()).toMatchObject({ enabled: false, disabledReason: null })
    expect(off.json().secret).toMatch(secretPattern)
  })

  it('re-enabling clears the reason the dispatcher disabled it for', async () => {
    const created = (
      await call('POST', '/api/admin/webhooks', {
        url: 'https://93.184.215.14/c',
        eventTypes: events,
      })
    ).json()
    await sql`update webhook_endpoints set enabled = false, failing_since = '2026-11-25T00:00:00Z',
      disabled_reason = ${disabledReason(defaultRetryPolicy)} where id = ${created.id}`.execute(
      t.app.db,
    )
    const disabled = (await call('GET', `/api/admin/webhooks/${created.id}`)).json()
    // The reason in words, since when in failingSince (the endpoint keeps it while disabled).
    expect(disabled).toMatchObject({
      enabled: false,
      disabledReason: 'every delivery failed for 3 days, with no 2xx; re-enable it once it answers',
      failingSince: '2026-11-25T00:00:00.000Z',
    })
    const enabled = await call('PATCH', `/api/admin/webhooks/${created.id}`, { enabled: true })
    expect(enabled.json()).toMatchObject({
      enabled: true,
      disabledReason: null,
      failingSince: null,
    })
  })

  it('lists recent deliveries and redelivers a failed one (pending, due now, attempts kept)', async () => {
    const created = (
      await call('POST', '/api/admin/webhooks', {
        url: 'https://93.184.215.14/d',
        eventTypes: events,
      })
    ).json()
    const failed = await insertDelivery(t.app.db, created.id, {
      status: 'failed',
      attempts: 17,
      lastResponseStatus: 503,
      lastError: 'HTTP 503',
    })
    const pending = await insertDelivery(t.app.db, created.id, { status: 'pending', attempts: 2 })

    const list = await call('GET', `/api/admin/webhooks/${created.id}/deliveries`)
    expect(list.statusCode).toBe(200)
    expect(list.json().map((d: { id: string }) => d.id)).toEqual([pending.id, failed.id])
    expect(list.json()[1]).toMatchObject({
      eventType: 'order.placed',
      orderNumber: failed.orderNumber,
      status: 'failed',
      attempts: 17,
      lastResponseStatus: 503,
      lastError: 'HTTP 503',
      // Tried next: only while pending (the row keeps its last lease time; no one tries it).
      nextAttemptAt: null,
      waitsFor: null,
    })
    // A later event of the pending one's order waits for it, however due it is.
    const later = await insertLaterDelivery(t.app.db, created.id, pending.orderNumber)
    const waiting = (await call('GET', `/api/admin/webhooks/${created.id}/deliveries`)).json()
    expect(waiting[0]).toMatchObject({ id: later, status: 'pending', waitsFor: pending.id })
    expect(waiting[1]).toMatchObject({ id: pending.id, waitsFor: null })
    await sql`delete from webhook_deliveries where id = ${later}`.execute(t.app.db)
    expect(list.json()[0].nextAttemptAt).toMatch(/^\d{4}-\d{2}-\d{2}T.*Z$/)
    const delivered = await insertDelivery(t.app.db, created.id, {
      status: 'delivered',
      attempts: 1,
      lastResponseStatus: 204,
    })
    const one = (await call('GET', `/api/admin/webhooks/${created.id}/deliveries`)).json()
    expect(one.find((d: { id: string }) => d.id === delivered.id).nextAttemptAt).toBeNull()
    await sql`delete from webhook_deliveries where id = ${delivered.id}`.execute(t.app.db)

    const res = await call(
      'POST',
      `/api/admin/webhooks/${created.id}/deliveries/${failed.id}/redeliver`,
    )
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ id: failed.id, status: 'pending', attempts: 17 })
    const row = await sql<{ status: string; attempts: number; due: boolean }>`
      select status, attempts, next_attempt_at <= now() as due
      from webhook_deliveries where id = ${failed.id}`.execute(t.app.db)
    expect(row.rows[0]).toEqual({ status: 'pending', attempts: 17, due: true })

    // Tried just now (it may be on its way): left alone (409, resume-deliveries.test.ts);
    // another endpoint's delivery or none: 404.
    await sql`update webhook_deliveries set last_attempt_at = now() where id = ${pending.id}`.execute(
      t.app.db,
    )
    const again = await call(
      'POST',
      `/api/admin/webhooks/${created.id}/deliveries/${pending.id}/redeliver`,
    )
    expect(again.statusCode).toBe(409)
    const other = await call('POST', '/api/admin/webhooks', {
      url: 'https://93.184.215.14/e',
      eventTypes: events,
    })
    const wrong = await call(
      'POST',
      `/api/admin/webhooks/${other.json().id}/deliveries/${failed.id}/redeliver`,
    )
    expect(wrong.statusCode).toBe(404)
    const none = await call('POST', `/api/admin/webhooks/${created.id}/deliveries/999999/redeliver`)
    expect(none.statusCode).toBe(404)
    expect(none.json().message).toBe('This endpoint has no delivery 999999.')
  })

  it('names the missing endpoint, not the delivery, when redelivering under an unknown endpoint', async () => {
    const res = await call('POST', '/api/admin/webhooks/999999/deliveries/1/redeliver')
    expect(res.statusCode).toBe(404)
    expect(res.json().message).toBe('There is no webhook endpoint 999999.')
  })

  it('is admin-only: 403 for a staff token, 401 without one', async () => {
    const created = (
      await call('POST', '/api/admin/webhooks', {
        url: 'https://93.184.215.14/f',
        eventTypes: events,
      })
    ).json()
    const routes: ['GET' | 'POST' | 'PATCH' | 'DELETE', string, object?][] = [
      ['GET', '/api/admin/webhooks'],
      ['POST', '/api/admin/webhooks', { url: 'https://93.184.215.14/g', eventTypes: events }],
      ['GET', `/api/admin/webhooks/${created.id}`],
      ['PATCH', `/api/admin/webhooks/${created.id}`, { enabled: false }],
      ['POST', `/api/admin/webhooks/${created.id}/rotate-secret`],
      ['POST', `/api/admin/webhooks/${created.id}/end-secret-overlap`],
      ['GET', `/api/admin/webhooks/${created.id}/deliveries`],
      ['POST', `/api/admin/webhooks/${created.id}/deliveries/1/redeliver`],
      ['DELETE', `/api/admin/webhooks/${created.id}`],
    ]
    for (const [method, url, body] of routes) {
      const staff = await call(method, url, body, clerk)
      expect(staff.statusCode, `${method} ${url}`).toBe(403)
      expect(staff.body).not.toContain('whsec_')
      const anonymous = await call(method, url, body, {})
      expect(anonymous.statusCode, `${method} ${url}`).toBe(401)
    }
    const still = (await call('GET', `/api/admin/webhooks/${created.id}`)).json()
    expect(still.enabled).toBe(true)
  })

  it('is in the OpenAPI document with the staffToken bearer scheme, secret only where given', async () => {
    const spec = (await t.app.inject('/openapi.json')).json()
    const paths = spec.paths
    expect(paths['/api/admin/webhooks'].get.security).toEqual([{ staffToken: [] }])
    expect(paths['/api/admin/webhooks'].post.security).toEqual([{ staffToken: [] }])
    expect(paths['/api/admin/webhooks/{id}'].patch.security).toEqual([{ staffToken: [] }])
    expect(
      paths['/api/admin/webhooks/{id}/deliveries/{deliveryId}/redeliver'].post.security,
    ).toEqual([{ staffToken: [] }])
    const schemaOf = (op: { responses: Record<string, { content: object }> }, code: string) =>
      JSON.stringify(op.responses[code]?.content)
    // A property named `secret` (previousSecretUntil is a time, and no previous secret is given).
    expect(schemaOf(paths['/api/admin/webhooks'].post, '201')).toContain('"secret"')
    expect(schemaOf(paths['/api/admin/webhooks/{id}/rotate-secret'].post, '200')).toContain(
      '"secret"',
    )
    for (const [path, method] of [
      ['/api/admin/webhooks', 'get'],
      ['/api/admin/webhooks/{id}', 'get'],
      ['/api/admin/webhooks/{id}/end-secret-overlap', 'post'],
    ] as const) {
      const schema = schemaOf(paths[path][method], '200')
      expect(schema, path).toContain('"previousSecretUntil"')
      expect(schema, path).not.toContain('"secret"')
      expect(schema, path).not.toContain('"previousSecret"')
    }
    expect(spec.paths['/admin/webhooks']).toBeUndefined()
  })
})

describe('the webhook endpoints API, local development (WEBHOOKS_ALLOW_LOCAL=true)', () => {
  let t: TestApp
  let admin: Record<string, string>
  beforeAll(async () => {
    t = await buildTestApp({ WEBHOOKS_ALLOW_LOCAL: 'true', WEBHOOKS_DISPATCH: 'off' })
    admin = {
      authorization: `Bearer ${await addToken(t.app, await addStaff(t.app, 'a@example.com', 'admin'))}`,
    }
  })
  afterAll(() => t?.close())

  it.each([
    'http://127.0.0.1:4000/hook',
    'http://localhost:4000/hook',
    'https://10.0.0.8/hook',
    'http://[::1]:4000/hook',
  ])('accepts %s', async (url) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/admin/webhooks',
      headers: admin,
      payload: { url, eventTypes: events },
    })
    expect(res.statusCode, res.body).toBe(201)
  })

  it('still refuses the metadata service and other schemes', async () => {
    for (const url of ['http://169.254.169.254/latest/', 'ftp://127.0.0.1/']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/admin/webhooks',
        headers: admin,
        payload: { url, eventTypes: events },
      })
      expect(res.statusCode, url).toBe(400)
    }
  })
})
