// The webhook pages checked by axe-core in headless Chromium, as test/a11y/axe.test.ts checks
// the others (WCAG 2.0/2.1 A and AA, and axe's best practices): the list with an endpoint and
// with a refused form, an endpoint's page just registered (the secret shown), just rotated (the
// previous secret still signing, its end form), and one the dispatcher disabled, with deliveries of each status,
// and the back office's home page naming it.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { sql } from 'kysely'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumAvailable, launchChromium, listen } from '../helpers/browser.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { addStaff, password } from '../helpers/staff.ts'
import { insertDelivery } from './endpoint-helpers.ts'

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
)
const wcagTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']

interface Violation {
  id: string
  impact: string | null
  help: string
  nodes: { target: unknown[] }[]
}

/** axe's violations on the page as it is, one line each. */
async function violations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource)
  const options = { runOnly: { type: 'tag', values: wcagTags }, resultTypes: ['violations'] }
  const result = await page.evaluate<{ violations: Violation[] }>(
    `axe.run(document, ${JSON.stringify(options)})`,
  )
  return result.violations.flatMap((v) =>
    v.nodes.map((n) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(n.target)}`),
  )
}

describe.skipIf(!chromiumAvailable)('the webhook pages, checked by axe-core', () => {
  let t: TestApp
  let browser: Browser
  let page: Page
  let base: string

  beforeAll(async () => {
    t = await buildTestApp({ WEBHOOKS_ALLOW_LOCAL: 'false', WEBHOOKS_DISPATCH: 'off' })
    await addStaff(t.app, 'boss@example.com', 'admin')
    base = await listen(t)
    browser = await launchChromium()
    page = await browser.newPage()
    await page.goto(`${base}/admin/login`)
    await page.fill('input[name=email]', 'boss@example.com')
    await page.fill('input[name=password]', password)
    await page.click('button[type=submit]')
    await page.waitForURL(`${base}/admin`)
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  it('has no violations, with every state the pages show', async () => {
    await page.goto(`${base}/admin/webhooks`)
    expect.soft(await violations(page), 'empty list').toEqual([])

    await page.fill('#url', 'https://93.184.215.14/hooks')
    await page.check('input[value="order.placed"]')
    await page.click('text=Register endpoint')
    await expect.poll(() => page.locator('#secret').count()).toBe(1)
    expect.soft(await violations(page), 'registered, secret shown').toEqual([])

    await page.click('button:has-text("Rotate secret")')
    await expect.poll(() => page.locator('.secret-overlap').count()).toBe(1)
    expect.soft(await violations(page), 'rotated, the previous secret still signing').toEqual([])

    const action = await page.locator('form[action$="/enabled"]').getAttribute('action')
    const id = Number(/\/admin\/webhooks\/(\d+)\//.exec(action ?? '')?.[1])
    expect(id).toBeGreaterThan(0)
    await insertDelivery(t.app.db, id, {
      status: 'failed',
      attempts: 19,
      lastResponseStatus: 500,
      lastError: 'HTTP 500',
    })
    await insertDelivery(t.app.db, id, {
      status: 'delivered',
      attempts: 1,
      lastResponseStatus: 204,
    })
    await insertDelivery(t.app.db, id, { status: 'pending', attempts: 2, lastError: 'timed out' })
    await sql`update webhook_endpoints set enabled = false,
      disabled_reason = 'every delivery failed since 2026-11-25T00:00:00Z, with no 2xx since'`.execute(
      t.app.db,
    )
    await page.goto(`${base}/admin/webhooks/${id}`)
    await expect.poll(() => page.locator('tr[data-status]').count()).toBe(3)
    expect.soft(await violations(page), 'disabled, with deliveries').toEqual([])
    // The back office's home names it to admins (home-notice.ts).
    await page.goto(`${base}/admin`)
    await expect.poll(() => page.locator('.webhook-notice li').count()).toBe(1)
    expect.soft(await violations(page), 'home, naming the disabled endpoint').toEqual([])

    await page.goto(`${base}/admin/webhooks`)
    await page.fill('#url', 'https://10.0.0.1/x')
    await page.check('input[value="order.placed"]')
    await page.click('text=Register endpoint')
    await expect.poll(() => page.locator('#url-error').count()).toBe(1)
    expect.soft(await violations(page), 'list with a refused form').toEqual([])
  }, 60_000)
})
