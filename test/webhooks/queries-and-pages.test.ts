import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken, signIn } from '../helpers/staff.ts'
import { insertDelivery } from './endpoint-helpers.ts'

/**
 * The webhook API's query strings: every route refuses what it does not take; an endpoint's
 * deliveries come in pages, in the API and on its page.
 */
describe('the webhook endpoints API: query parameters and pages of deliveries', () => {
  let t: TestApp
  let admin: Record<string, string>
  let endpoint: number
  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    t.app.inject({ method, url, payload, headers: admin })

  beforeAll(async () => {
    t = await buildTestApp({ WEBHOOKS_ALLOW_LOCAL: 'true', WEBHOOKS_DISPATCH: 'off' })
    admin = {
      authorization: `Bearer ${await addToken(t.app, await addStaff(t.app, 'q@example.com', 'admin'))}`,
    }
    const created = await call('POST', '/api/admin/webhooks', {
      url: 'http://127.0.0.1:9/queries',
      eventTypes: ['order.placed'],
    })
    endpoint = created.json().id
  })
  afterAll(() => t?.close())

  it('refuses a query parameter no route takes, naming it, on every route, and changes nothing', async () => {
    const routes: [Parameters<typeof call>[0], string, object?][] = [
      ['GET', '/api/admin/webhooks?enabled=true'],
      [
        'POST',
        '/api/admin/webhooks?dryRun=1',
        { url: 'http://127.0.0.1:9/x', eventTypes: ['order.placed'] },
      ],
      ['GET', `/api/admin/webhooks/${endpoint}?enabled=true`],
      ['PATCH', `/api/admin/webhooks/${endpoint}?enabled=true`, { description: 'changed' }],
      ['DELETE', `/api/admin/webhooks/${endpoint}?enabled=true`],
      ['GET', `/api/admin/webhooks/${endpoint}/deliveries?status=failed`],
      ['POST', `/api/admin/webhooks/${endpoint}/rotate-secret?enabled=true`],
      ['POST', `/api/admin/webhooks/${endpoint}/end-secret-overlap?enabled=true`],
      ['POST', `/api/admin/webhooks/${endpoint}/deliveries/1/redeliver?enabled=true`],
    ]
    for (const [method, url, body] of routes) {
      const res = await call(method, url, body)
      const name = new URL(url, 'http://x').searchParams.keys().next().value
      expect(res.statusCode, `${method} ${url}`).toBe(400)
      expect(res.json().message).toBe(`querystring has an unknown field "${name}"`)
      expect(res.json().errors).toEqual([expect.objectContaining({ parameter: name })])
    }
    const kept = (await call('GET', `/api/admin/webhooks/${endpoint}`)).json()
    expect(kept.description).toBe('')
    expect((await call('GET', '/api/admin/webhooks')).json()).toHaveLength(1)
  })

  it('pages deliveries newest first by cursor (Link rel="next", limit kept), stable under inserts', async () => {
    const made: string[] = []
    for (let i = 0; i < 7; i++) {
      made.push((await insertDelivery(t.app.db, endpoint, { status: 'delivered', attempts: 1 })).id)
    }
    const newestFirst = [...made].reverse()
    const first = await call('GET', `/api/admin/webhooks/${endpoint}/deliveries?limit=3`)
    expect(first.statusCode, first.body).toBe(200)
    expect(first.json().map((d: { id: string }) => d.id)).toEqual(newestFirst.slice(0, 3))
    const link =
      /^<(\/api\/admin\/webhooks\/\d+\/deliveries\?limit=3&cursor=[A-Za-z0-9_-]+)>; rel="next"$/
    expect(first.headers.link).toMatch(link)
    // A delivery made meanwhile is on the first page of a new listing, not on the next page.
    const later = await insertDelivery(t.app.db, endpoint, { status: 'pending', attempts: 0 })
    const second = await call('GET', String(first.headers.link).match(link)?.[1] ?? '')
    expect(second.json().map((d: { id: string }) => d.id)).toEqual(newestFirst.slice(3, 6))
    const third = await call('GET', String(second.headers.link).match(link)?.[1] ?? '')
    expect(third.json().map((d: { id: string }) => d.id)).toEqual(newestFirst.slice(6))
    expect(third.headers.link).toBeUndefined()
    const all = await call('GET', `/api/admin/webhooks/${endpoint}/deliveries`)
    expect(all.json().map((d: { id: string }) => d.id)).toEqual([later.id, ...newestFirst])
    expect(all.headers.link).toBeUndefined()
  })

  it('declares the Link header of a page of deliveries in /openapi.json, as the answer sends it', async () => {
    for (let i = 0; i < 2; i++) {
      await insertDelivery(t.app.db, endpoint, { status: 'delivered', attempts: 1 })
    }
    const page = await call('GET', `/api/admin/webhooks/${endpoint}/deliveries?limit=1`)
    expect(page.headers.link).toMatch(
      /^<\/api\/admin\/webhooks\/\d+\/deliveries\?[^>]+>; rel="next"$/,
    )
    const doc = (await t.app.inject({ url: '/openapi.json' })).json()
    const ok = doc.paths['/api/admin/webhooks/{id}/deliveries'].get.responses['200']
    // A client generated from the document reads the next page's address from it.
    expect(ok.headers?.link?.schema).toEqual({ type: 'string' })
    expect(ok.headers.link.description).toContain('rel="next"')
    expect(ok.content['application/json'].schema.type).toBe('array')
  })

  it('refuses a limit out of 1 to 50 and a cursor it did not make', async () => {
    for (const limit of ['0', '51', 'abc', '1.5', '-1']) {
      const res = await call('GET', `/api/admin/webhooks/${endpoint}/deliveries?limit=${limit}`)
      expect(res.statusCode, limit).toBe(400)
      expect(res.json().message).toBe('limit must be a whole number from 1 to 50')
    }
    // A blank limit is one not given (test/admin/page-parameters.test.ts has the whole rule).
    const blank = await call('GET', `/api/admin/webhooks/${endpoint}/deliveries?limit=`)
    expect(blank.statusCode, blank.body).toBe(200)
    const wrong = [
      'abc',
      Buffer.from('["delivery","0"]').toString('base64url'),
      Buffer.from('["2026-11-29T11:16:32.123456Z","5"]').toString('base64url'),
      // The earlier form, which named no endpoint: out of date now.
      Buffer.from('["delivery","5"]').toString('base64url'),
      // Another endpoint's, and this one's written as text.
      Buffer.from(`["delivery",${endpoint + 1},"5"]`).toString('base64url'),
      Buffer.from(`["delivery","${endpoint}","5"]`).toString('base64url'),
    ]
    for (const cursor of wrong) {
      const res = await call('GET', `/api/admin/webhooks/${endpoint}/deliveries?cursor=${cursor}`)
      expect(res.statusCode, cursor).toBe(400)
      expect(res.json().errors).toEqual([
        { parameter: 'cursor', detail: expect.stringContaining('damaged') },
      ])
    }
  })

  it('pages on the endpoint page too: the latest 50, then "Older deliveries"; other parameters ignored', async () => {
    const session = await signIn(t.app, 'q@example.com')
    const page = (query: string) =>
      t.app.inject({
        url: `/admin/webhooks/${endpoint}${query}`,
        headers: { cookie: session.cookie, accept: 'text/html' },
      })
    const listed = (await call('GET', `/api/admin/webhooks/${endpoint}/deliveries`)).json().length
    const added: string[] = []
    for (let i = listed; i < 53; i++) {
      added.push((await insertDelivery(t.app.db, endpoint, { status: 'failed', attempts: 3 })).id)
    }
    const ids = (body: string) => [...body.matchAll(/id="delivery-(\d+)"/g)].map((m) => m[1])
    // A page's query is read leniently (docs/api.md): a link's utm_source still opens it.
    const latest = await page('?utm_source=mail')
    expect(latest.statusCode).toBe(200)
    expect(latest.body).toContain('The latest 50, newest first.')
    expect(ids(latest.body)).toHaveLength(50)
    const older = latest.body.match(
      /href="(\/admin\/webhooks\/\d+\?cursor=[\w-]+)#deliveries-title" rel="next">Older deliveries</,
    )
    expect(older, 'an Older deliveries link').not.toBeNull()
    const next = await page((older?.[1] ?? '').replace(/^[^?]+/, ''))
    expect(next.statusCode).toBe(200)
    expect(next.body).toContain('3 older ones, newest first.')
    const api = await call('GET', `/api/admin/webhooks/${endpoint}/deliveries?limit=50`)
    const link = String(api.headers.link).match(/<([^>]+)>/)?.[1] ?? ''
    const apiOlder = (await call('GET', link)).json().map((d: { id: string }) => d.id)
    expect(ids(next.body)).toEqual(apiOlder)
    expect(next.body).not.toContain('rel="next">Older deliveries<')
    expect(next.body).toContain('>Latest deliveries<')
    expect((await page('?cursor=damaged')).statusCode).toBe(400)
  })
})
