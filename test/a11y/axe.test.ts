// Every page a shopper or a member of staff sees, checked by axe-core (Deque's rules engine) in
// headless Chromium against WCAG 2.0 and 2.1, levels A and AA: zero violations. axe catches
// what a machine can (names, labels, contrast, landmarks, headings, table headers, ARIA); the
// keyboard test below covers one thing it cannot, that the form works without a mouse.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { foldSales } from '../../src/insights/sales-fold.ts'
import {
  chromiumAvailable,
  fillShipping,
  focusProblems,
  focusShown,
  launchChromium,
  listen,
} from '../helpers/browser.ts'
import { buildTestApp, customerIn, type TestApp } from '../helpers/context.ts'
import { addStaff, password } from '../helpers/staff.ts'

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
)
// WCAG 2.0 and 2.1, A and AA; and axe's best practices, where the landmark and heading rules
// live (one main, content inside landmarks, no skipped heading levels).
const wcagTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']

interface Violation {
  id: string
  impact: string | null
  help: string
  nodes: { target: unknown[]; failureSummary?: string }[]
}

/** Every page checked and what axe found on it, written to test-results/axe.json at the end. */
const checked: { page: string; url: string; violations: Violation[]; passes: number }[] = []

/**
 * Runs axe on the page as it is. axe is evaluated through the DevTools protocol
 * (page.evaluate), which the pages' Content-Security-Policy does not govern: the service's own
 * pages are checked with their real headers.
 */
async function runAxe(page: Page): Promise<{ violations: Violation[]; passes: unknown[] }> {
  await page.evaluate(axeSource)
  // Evaluated as text: the test's TypeScript has no DOM types (the page's code is the browser's).
  const options = { runOnly: { type: 'tag', values: wcagTags }, resultTypes: ['violations'] }
  return page.evaluate<{ violations: Violation[]; passes: unknown[] }>(
    `axe.run(document, ${JSON.stringify(options)})`,
  )
}

/** Expects no violation on the page, and records what was checked. */
async function expectAccessible(page: Page, name: string): Promise<void> {
  const results = await runAxe(page)
  checked.push({
    page: name,
    url: new URL(page.url()).pathname,
    violations: results.violations,
    passes: results.passes.length,
  })
  const found = results.violations.flatMap((v) =>
    v.nodes.map((n) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(n.target)}`),
  )
  // Soft: one run reports every page's violations, and the test still fails.
  expect.soft(found, `axe violations on ${name}`).toEqual([])
}

describe.skipIf(!chromiumAvailable)('accessibility, checked by axe-core in Chromium', () => {
  let t: TestApp
  let browser: Browser
  let baseUrl: string
  let adminId: number
  let clerkId: number
  let orderNumber: string

  beforeAll(async () => {
    t = await buildTestApp({}, { salesFold: true })
    // An admin, so the staff accounts pages are reachable too.
    adminId = await addStaff(t.app, 'a11y@example.com', 'admin')
    // Another member, whose page has the form that sets their password (one's own has not).
    clerkId = await addStaff(t.app, 'a11y-clerk@example.com', 'staff')
    // Something to show: a sold-out product, an off-sale one, and orders in the insights.
    await t.app.db.updateTable('products').set({ stock: 0 }).where('sku', '=', 'CAP-003').execute()
    await t.app.db
      .updateTable('products')
      .set({ on_sale: false })
      .where('sku', '=', 'LMP-006')
      .execute()
    // An order for the back office to list and show, whatever the shopper's test did.
    const placed = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': 'a11y-order' },
      payload: {
        items: [
          { sku: 'MUG-001', quantity: 2 },
          { sku: 'BAG-004', quantity: 1 },
        ],
        customer: customerIn('VA'),
      },
    })
    expect(placed.statusCode).toBe(201)
    orderNumber = placed.json<{ orderNumber: string }>().orderNumber
    baseUrl = await listen(t)
    browser = await launchChromium()
  })
  afterAll(async () => {
    mkdirSync('test-results', { recursive: true })
    writeFileSync(
      'test-results/axe.json',
      `${JSON.stringify({ tags: wcagTags, checked }, null, 2)}\n`,
    )
    await browser?.close()
    await t?.close()
  })

  it("the shopper's pages: form empty and with errors, confirmation, 409, 404, insights", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })

    await page.goto(`${baseUrl}/`)
    await expectAccessible(page, 'order form')

    // 400: a bad quantity, a bad e-mail, a missing ZIP.
    await page.getByLabel('Quantity of Wool Blanket', { exact: true }).fill('abc')
    await fillShipping(page)
    await page.getByLabel('E-mail', { exact: true }).fill('grace-at-example')
    await page.getByLabel('ZIP code', { exact: true }).fill('')
    const invalid = page.waitForResponse((r) => r.url().endsWith('/orders'))
    await page.getByRole('button', { name: 'Place order' }).click()
    expect((await invalid).status()).toBe(400)
    await page.waitForLoadState()
    // Each message is the field's description, so a screen reader reads it with the field.
    const described = await page
      .getByLabel('Quantity of Wool Blanket', { exact: true })
      .getAttribute('aria-describedby')
    expect(described).toContain('qty-BLK-007-error')
    await expectAccessible(page, 'order form with errors (400)')

    // 400: nothing chosen.
    await page.goto(`${baseUrl}/`)
    await fillShipping(page)
    await page.getByRole('button', { name: 'Place order' }).click()
    await page.waitForLoadState()
    expect(await page.textContent('#items-error')).toContain('Choose at least one product')
    await expectAccessible(page, 'order form, no product chosen (400)')

    // 409: more than is left.
    await t.app.db.updateTable('products').set({ stock: 1 }).where('sku', '=', 'KNF-008').execute()
    await page.goto(`${baseUrl}/`)
    await page.getByLabel('Quantity of Folding Knife', { exact: true }).fill('3')
    await page.getByLabel('Quantity of Wool Blanket', { exact: true }).fill('1')
    await fillShipping(page)
    const short = page.waitForResponse((r) => r.url().endsWith('/orders'))
    await page.getByRole('button', { name: 'Place order' }).click()
    expect((await short).status()).toBe(409)
    await page.waitForLoadState()
    await expectAccessible(page, 'order form, stock short (409)')

    // The confirmation of an order of several products.
    await page.getByLabel('Quantity of Folding Knife', { exact: true }).fill('1')
    await page.getByRole('button', { name: 'Place order' }).click()
    await page.waitForURL(/\/orders\/[0-9A-Z]{5}-[0-9A-Z]{5}$/)
    await expectAccessible(page, 'confirmation')

    await page.goto(`${baseUrl}/orders/ZZZZZ-ZZZZZ`)
    await expectAccessible(page, 'unknown order (404)')
    await page.goto(`${baseUrl}/no/such/page`)
    await expectAccessible(page, 'unknown page (404)')

    await page.goto(`${baseUrl}/insights`)
    await expectAccessible(page, 'insights')
    await page.goto(`${baseUrl}/insights/VA`)
    await expectAccessible(page, 'insights of a state')
    await page.close()
  })

  it('the back office: sign-in, home, orders, an order and its cancel page, products, insights, staff', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    await page.goto(`${baseUrl}/admin/orders`)
    await page.waitForURL(/\/admin\/login/)
    await expectAccessible(page, 'sign-in')
    await page.getByLabel('E-mail').fill('a11y@example.com')
    await page.getByLabel('Password').fill('not the password at all')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForLoadState()
    await expectAccessible(page, 'sign-in refused (400)')
    await page.getByLabel('E-mail').fill('a11y@example.com')
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`${baseUrl}/admin/orders`)
    await expectAccessible(page, 'orders')

    await page.locator('table a[href^="/admin/orders/"]').first().click()
    await page.waitForURL(/\/admin\/orders\/[0-9A-Z]{5}-[0-9A-Z]{5}$/)
    await expectAccessible(page, 'an order')
    await page.getByRole('link', { name: 'Cancel order…' }).click()
    await page.waitForURL(/\/cancel$/)
    await expectAccessible(page, 'cancel an order: the confirmation')
    await page.getByRole('link', { name: 'Keep the order' }).click()
    await page.waitForURL(/\/admin\/orders\/[0-9A-Z]{5}-[0-9A-Z]{5}$/)

    for (const [path, name] of [
      ['/admin', 'back-office home'],
      ['/admin/products', 'products'],
      ['/admin/insights', 'insights with revenue'],
      ['/admin/insights/VA', 'insights of a state with revenue'],
      ['/admin/staff', 'staff accounts'],
      [`/admin/staff/${adminId}`, 'a staff member'],
      [`/admin/staff/${clerkId}`, 'another staff member (set their password)'],
      ['/admin/password', 'change your password'],
    ] as const) {
      const response = await page.goto(`${baseUrl}${path}`)
      expect(response?.status(), path).toBe(200)
      await expectAccessible(page, name)
    }
    await page.getByLabel('Current password').fill('not the password at all')
    await page.getByLabel('New password', { exact: true }).fill('a new and long enough passphrase')
    await page.getByLabel('New password again').fill('a new and long enough passphrase')
    await page.getByRole('button', { name: 'Change password' }).click()
    await page.waitForLoadState()
    expect(await page.getByRole('alert').textContent()).toContain('not your current password')
    await expectAccessible(page, 'change your password refused (400)')
    await page.goto(`${baseUrl}/admin`)
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/done=signed-out/)
    await expectAccessible(page, 'sign-in, signed out (its note)')
    await context.close()
  })

  it('the order form works with the keyboard alone: Tab through it, type, Enter to order', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(`${baseUrl}/`)
    const focused = () =>
      page.evaluate<{ id: string; tag: string; outline: boolean }>(`(() => {
        const el = document.activeElement
        const style = el ? getComputedStyle(el) : null
        return {
          id: (el && (el.id || el.textContent.trim())) || '',
          tag: el ? el.tagName.toLowerCase() : '',
          // A visible focus indicator: an outline drawn around the control.
          outline: style ? style.outlineStyle !== 'none' && style.outlineWidth !== '0px' : false,
        }
      })()`)

    const order: string[] = []
    const wanted: Record<string, string> = { 'qty-BLK-007': '2', 'qty-NTB-009': '1' }
    // At most 60 stops: every link and field of the page is fewer.
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab')
      const now = await focused()
      order.push(now.id)
      if (now.tag === 'input' || now.tag === 'select' || now.tag === 'button') {
        expect(now.outline, `focus is visible on ${now.id}`).toBe(true)
      }
      if (now.id in wanted) {
        await page.keyboard.press('Control+A')
        await page.keyboard.type(wanted[now.id] as string)
      }
      if (now.id === 'name') await page.keyboard.type('Ada Lovelace')
      if (now.id === 'email') await page.keyboard.type('ada@example.com')
      if (now.id === 'address') await page.keyboard.type('12 Analytical Way')
      if (now.id === 'city') await page.keyboard.type('Richmond')
      if (now.id === 'state') await page.keyboard.type('Virginia')
      if (now.id === 'zip') {
        await page.keyboard.type('23219')
        break
      }
    }
    // The skip link first; the products' quantities in the order shown, the sold-out cap and
    // the off-sale lamp skipped (disabled); then the shipping fields in reading order.
    expect(order[0]).toBe('Skip to content')
    const fields = order.filter((id) => /^qty-|^(name|email|address|city|state|zip)$/.test(id))
    const shown = await page
      .locator('input.qty:not([disabled])')
      .evaluateAll((inputs) => inputs.map((i) => (i as unknown as { id: string }).id))
    expect(fields).toEqual([...shown, 'name', 'email', 'address', 'city', 'state', 'zip'])
    expect(fields).not.toContain('qty-CAP-003')
    expect(fields).not.toContain('qty-LMP-006')
    expect(await page.getByLabel('State', { exact: true }).inputValue()).toBe('VA')

    await page.keyboard.press('Enter')
    await page.waitForURL(/\/orders\/[0-9A-Z]{5}-[0-9A-Z]{5}$/)
    const main = (await page.textContent('main')) ?? ''
    expect(main).toContain('Wool Blanket')
    expect(main).toContain('Field Notebook')
    expect(main).toContain('Richmond, VA 23219')
    await page.close()
  })

  it('the check can fail: a field without its label, or faded text, is a violation', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(`${baseUrl}/`)
    await page.evaluate(`
      document.querySelector('label[for="name"]').remove()
      document.querySelector('.hint').style.color = '#bbbbbb'
    `)
    const ids = (await runAxe(page)).violations.map((v) => v.id)
    expect(ids).toContain('label')
    expect(ids).toContain('color-contrast')
    await page.close()
  })

  /**
   * Opens every page of the shop and the back office in `context`, one after the other, and
   * runs `visit` on each: the shop's pages (the order form also refused, 400), the sign-in
   * page, then the back office's, signed in as the admin.
   */
  async function eachPage(
    context: BrowserContext,
    visit: (page: Page, name: string) => Promise<void>,
  ): Promise<void> {
    const page = await context.newPage()
    // The state page's second table (the national top three) shows once the sales are counted
    // (here or by the app's own fold). A page load can take seconds on a busy machine.
    await expect
      .poll(
        async () => {
          await foldSales(t.app.db)
          await page.goto(`${baseUrl}/insights/TX`)
          return page.getByRole('table', { name: /national top three/ }).count()
        },
        { timeout: 60_000 },
      )
      .toBe(1)
    for (const path of [
      '/',
      `/orders/${orderNumber}`,
      '/orders/ZZZZZ-ZZZZZ',
      '/no/such/page',
      '/insights',
      '/insights/TX',
    ]) {
      await page.goto(`${baseUrl}${path}`)
      await visit(page, path)
    }
    await page.goto(`${baseUrl}/`)
    await page.getByLabel('Quantity of Wool Blanket', { exact: true }).fill('abc')
    await fillShipping(page)
    await page.getByLabel('E-mail', { exact: true }).fill('grace-at-example')
    const refused = page.waitForResponse((r) => r.url().endsWith('/orders'))
    await page.getByRole('button', { name: 'Place order' }).click()
    expect((await refused).status()).toBe(400)
    await page.waitForLoadState()
    await visit(page, '/ (refused, 400)')

    await page.goto(`${baseUrl}/admin/login`)
    await visit(page, '/admin/login')
    await page.getByLabel('E-mail').fill('a11y@example.com')
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`${baseUrl}/admin`)
    for (const path of [
      '/admin',
      '/admin/orders',
      `/admin/orders/${orderNumber}`,
      `/admin/orders/${orderNumber}/cancel`,
      '/admin/products',
      '/admin/insights',
      '/admin/insights/TX',
      '/admin/staff',
      `/admin/staff/${adminId}`,
      `/admin/staff/${clerkId}`,
      '/admin/password',
      '/admin/webhooks',
    ]) {
      const response = await page.goto(`${baseUrl}${path}`)
      expect(response?.status(), path).toBe(200)
      await visit(page, path)
    }
    await page.close()
  }

  it('no page scrolls sideways at 320 px (WCAG 1.4.10 reflow), /insights/TX included', async () => {
    const context = await browser.newContext({ viewport: { width: 320, height: 800 } })
    const widths: Record<string, number> = {}
    await eachPage(context, async (page, name) => {
      widths[name] = await page.evaluate<number>('document.documentElement.scrollWidth')
    })
    expect(Object.keys(widths)).toHaveLength(20)
    const wide = Object.entries(widths).filter(([, width]) => width > 320)
    expect(wide, 'pages wider than 320 px').toEqual([])
    await context.close()
  })

  it('shows where focus is on every stop of every page: an opaque ring of 3:1 or more', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const problems: string[] = []
    let stops = 0
    let mapStates = 0
    await eachPage(context, async (page, name) => {
      // Tab from the top of the page through every stop, until focus leaves the page or
      // comes back to one already seen.
      await page.evaluate('document.activeElement && document.activeElement.blur()')
      const seen = new Set<string>()
      for (let i = 0; i < 400; i++) {
        await page.keyboard.press('Tab')
        const focused = await focusShown(page)
        if (!focused || seen.has(focused.key)) break
        seen.add(focused.key)
        stops++
        if (focused.kind === 'map') mapStates++
        problems.push(...focusProblems(focused).map((p) => `${name}: ${p}`))
      }
    })
    // Fields, buttons and links of ~25 pages, and the map's 51 states on two of them.
    expect(stops).toBeGreaterThan(300)
    expect(mapStates).toBe(2 * 51)
    expect(problems).toEqual([])
    await context.close()
  })

  it('keeps focus on a field with an error apart from the error: its red border stays, an opaque ring clear of it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(`${baseUrl}/`)
    await fillShipping(page)
    await page.getByLabel('E-mail', { exact: true }).fill('grace-at-example')
    await page.getByRole('button', { name: 'Place order' }).click()
    await page.waitForLoadState()
    const email = page.getByLabel('E-mail', { exact: true })
    expect(await email.getAttribute('aria-invalid')).toBe('true')
    const danger = 'rgb(164, 38, 44)'
    for (const label of ['Full name', 'E-mail']) {
      const field = page.getByLabel(label, { exact: true })
      await field.focus()
      const focused = await focusShown(page)
      if (focused?.kind !== 'outline') throw new Error(`${label}: no outline`)
      expect(focusProblems(focused), label).toEqual([])
      // Drawn on the card (white), 2 px clear of the field's border.
      expect(focused.background, label).toBe('rgb(255, 255, 255)')
      expect(focused.offset, label).toBeGreaterThanOrEqual(2)
      expect(focused.color, label).not.toBe(danger)
    }
    // The invalid field keeps its red border while focused, and shows no ring when not.
    const style = (property: 'borderTopColor' | 'outlineStyle') =>
      email.evaluate((el, p) => el.ownerDocument.defaultView?.getComputedStyle(el)[p], property)
    expect(await style('borderTopColor')).toBe(danger)
    await page.getByLabel('City', { exact: true }).focus()
    expect(await style('outlineStyle')).toBe('none')
    expect(await style('borderTopColor')).toBe(danger)
    await page.close()
  })

  it('saves screenshots of the form with several products, on a phone and a desktop', async () => {
    mkdirSync('test-results', { recursive: true })
    for (const [name, width, height] of [
      ['phone', 390, 844],
      ['desktop', 1280, 900],
    ] as const) {
      const page = await browser.newPage({ viewport: { width, height } })
      await page.goto(`${baseUrl}/`)
      await page.getByLabel('Quantity of Wool Blanket', { exact: true }).fill('2')
      await page.getByLabel('Quantity of Enamel Camp Mug', { exact: true }).fill('4')
      await page.getByLabel('Quantity of Field Notebook', { exact: true }).fill('1')
      await fillShipping(page)
      const path = `test-results/order-form-${name}.png`
      await page.screenshot({ path, fullPage: true })
      // No horizontal scrolling at either width (WCAG 1.4.10 reflow, at 320 CSS px and up).
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      )
      expect(overflow, name).toBeLessThanOrEqual(0)
      expect(readFileSync(path).length).toBeGreaterThan(10_000)
      await page.close()
    }
  })
})
