import { randomUUID } from 'node:crypto'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumAvailable, launchChromium, listen } from '../helpers/browser.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'

describe.skipIf(!chromiumAvailable)('the Content-Security-Policy in a real browser', () => {
  let t: TestApp
  let browser: Browser
  let baseUrl: string

  beforeAll(async () => {
    t = await buildTestApp()
    baseUrl = await listen(t)
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  it('lets every page, and Swagger UI, work without a single violation', async () => {
    const placed = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer },
    })
    const orderNumber = placed.json().orderNumber as string

    const page = await browser.newPage()
    const violations: string[] = []
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text()))
        violations.push(`${page.url()} ${m.text()}`)
    })
    // Also what the page itself reports, in case a message is worded otherwise.
    // (Strings, not functions: this project type-checks without the DOM library.)
    await page.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (e) =>
        console.error('Refused to load: CSP ' + e.violatedDirective + ' ' + e.blockedURI))`,
    })

    for (const path of ['/', `/orders/${orderNumber}`, '/insights', '/insights/TX', '/nowhere']) {
      const res = await page.goto(`${baseUrl}${path}`)
      expect(res?.headers()['content-security-policy']).toContain("script-src 'self'")
      // The stylesheet applied: CSP did not block it.
      const font = await page.evaluate<string>('getComputedStyle(document.body).fontFamily')
      expect(font, path).not.toMatch(/^"?Times/)
    }

    await page.goto(`${baseUrl}/docs`)
    await expect(
      page.locator('.swagger-ui .info .title').textContent({ timeout: 10_000 }),
    ).resolves.toContain('Order service API')
    await page.locator('.opblock-summary-path', { hasText: '/api/orders' }).first().waitFor()

    expect(violations).toEqual([])
  })
})
