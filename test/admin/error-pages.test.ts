import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, form, formHeaders, signIn } from '../helpers/staff.ts'

let t: TestApp
let boss: { cookie: string; csrf: string }

beforeAll(async () => {
  t = await buildTestApp({ WEBHOOKS_DISPATCH: 'off' })
  await addStaff(t.app, 'boss@example.com', 'admin')
  boss = await signIn(t.app, 'boss@example.com')
})
afterAll(() => t?.close())

/** The error page's links: every `href` of its section, as `[href, text]`. */
function links(html: string): [string, string][] {
  const section = /<section class="panel error-page"[\s\S]*?<\/section>/.exec(html)?.[0] ?? ''
  return [...section.matchAll(/<a [^>]*href="([^"]*)"[^>]*>([^<]*)<\/a>/g)].map((m) => [
    m[1] as string,
    m[2] as string,
  ])
}

const get = (url: string) =>
  t.app.inject({ url, headers: { cookie: boss.cookie, accept: 'text/html' } })
const post = (url: string, fields: Record<string, string>) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { cookie: boss.cookie, ...formHeaders, accept: 'text/html' },
    payload: form(fields),
  })

describe('error pages under /admin', () => {
  it("lead back into the back office (the section's list page), never to the shop", async () => {
    const cases: [string, Promise<{ statusCode: number; body: string }>, number, string][] = [
      ['CSV with a bad filter', get('/admin/orders.csv?status=bogus'), 400, '/admin/orders'],
      ['a NUL in the CSV query', get('/admin/orders.csv?status=%00'), 400, '/admin/orders'],
      ['unknown order', get('/admin/orders/ZZZZZ-ZZZZZ'), 404, '/admin/orders'],
      ['unknown staff member', get('/admin/staff/999999'), 404, '/admin/staff'],
      ['unknown webhook', get('/admin/webhooks/999999'), 404, '/admin/webhooks'],
      [
        'unknown product',
        post('/admin/products/NOPE-999/restock', { _csrf: boss.csrf, units: '1' }),
        404,
        '/admin/products',
      ],
      [
        'bad CSRF token',
        post('/admin/products/MUG-001/restock', { _csrf: 'wrong', units: '1' }),
        403,
        '/admin/products',
      ],
      ['no such page', get('/admin/nothing-here'), 404, '/admin'],
    ]
    for (const [what, answer, status, href] of cases) {
      const res = await answer
      expect(res.statusCode, what).toBe(status)
      const found = links(res.body)
      expect(found, what).toHaveLength(1)
      expect(found[0]?.[0], what).toBe(href)
      expect(found[0]?.[1], what).toMatch(
        /^Back to (orders|staff|webhooks|products|the back office)$/,
      )
    }
  })

  it("refusing the staff role an admin's page, lead to the back office's home, not to that section", async () => {
    await addStaff(t.app, 'clerk@example.com', 'staff')
    const clerk = await signIn(t.app, 'clerk@example.com')
    const as = (method: 'GET' | 'POST', url: string) =>
      t.app.inject({
        method,
        url,
        headers: { cookie: clerk.cookie, ...formHeaders },
        ...(method === 'POST'
          ? { payload: form({ _csrf: clerk.csrf, email: 'x@example.com' }) }
          : {}),
      })
    for (const [method, url] of [
      ['GET', '/admin/staff'],
      ['GET', '/admin/webhooks'],
      ['POST', '/admin/staff'],
    ] as const) {
      const res = await as(method, url)
      expect(res.statusCode, url).toBe(403)
      expect(res.body, url).toContain('Your role does not allow this.')
      expect(links(res.body), url).toEqual([['/admin', 'Back to the back office']])
    }
    // And that page is one the role opens.
    expect((await as('GET', '/admin')).statusCode).toBe(200)
  })

  it('elsewhere, still lead back to the shop', async () => {
    const res = await t.app.inject({ url: '/orders/ZZZZZ-ZZZZZ', headers: { accept: 'text/html' } })
    expect(res.statusCode).toBe(404)
    expect(links(res.body)).toEqual([['/', 'Back to the shop']])
  })
})
