import { mkdirSync } from 'node:fs'
import { sql } from 'kysely'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumAvailable, launchChromium, listen } from '../helpers/browser.ts'
import { buildTestApp, stock, type TestApp } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, password } from '../helpers/staff.ts'

describe.skipIf(!chromiumAvailable)('the back office in a real browser', () => {
  let t: TestApp
  let browser: Browser
  let baseUrl: string

  beforeAll(async () => {
    t = await buildTestApp()
    await addStaff(t.app, 'dispatch@example.com')
    baseUrl = await listen(t)
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  it('a shopper orders; staff find the order, pack and ship it; the shopper sees the tracking number', async () => {
    // The shopper, in a browser context of their own.
    const shopper = await browser.newContext()
    const shop = await shopper.newPage()
    await shop.goto(`${baseUrl}/`)
    // Several products in the one order: staff see and ship them together.
    await shop.getByLabel('Quantity of Wool Blanket', { exact: true }).fill('1')
    await shop.getByLabel('Quantity of Waxed Canvas Cap', { exact: true }).fill('2')
    await shop.getByLabel('Full name', { exact: true }).fill('Katherine Johnson')
    await shop.getByLabel('E-mail', { exact: true }).fill('katherine@example.com')
    await shop.getByLabel('Street address', { exact: true }).fill('1 Langley Blvd')
    await shop.getByLabel('City', { exact: true }).fill('Hampton')
    await shop.getByLabel('State', { exact: true }).selectOption('VA')
    await shop.getByLabel('ZIP code', { exact: true }).fill('23681')
    await shop.getByRole('button', { name: 'Place order' }).click()
    await shop.waitForURL(/\/orders\/[0-9A-Z]{5}-[0-9A-Z]{5}$/)
    const orderNumber = shop.url().split('/').pop() as string
    expect(await shop.textContent('.order-status')).toBe('placed')

    // Staff, in another: sent to the sign-in, then back to the list.
    const staff = await browser.newContext()
    const office = await staff.newPage()
    await office.goto(`${baseUrl}/admin/orders`)
    await office.waitForURL(/\/admin\/login/)
    await office.getByLabel('E-mail').fill('dispatch@example.com')
    await office.getByLabel('Password').fill(password)
    await office.getByRole('button', { name: 'Sign in' }).click()
    await office.waitForURL(`${baseUrl}/admin/orders`)

    // Found by its number as a person might type it: lower case, no dash.
    await office
      .getByLabel('Order number or e-mail')
      .fill(orderNumber.replace('-', '').toLowerCase())
    await office.getByRole('button', { name: 'Find orders' }).click()
    await office.waitForURL(/\/admin\/orders\?/)
    const found = office.getByRole('link', { name: orderNumber })
    await expect(found.count()).resolves.toBe(1)
    await found.click()
    await office.waitForURL(`${baseUrl}/admin/orders/${orderNumber}`)
    expect(await office.textContent('main')).toContain('Katherine Johnson')
    expect(await office.textContent('main')).toContain('Wool Blanket')
    expect(await office.textContent('main')).toContain('Waxed Canvas Cap')

    await office.getByRole('button', { name: 'Mark packed' }).click()
    await office.waitForURL(`${baseUrl}/admin/orders/${orderNumber}`)
    expect(await office.textContent('.order-status')).toBe('packed')

    // A carrier of spaces passes the browser's `required`; the server marks the field.
    await office.getByLabel('Carrier').fill('   ')
    await office.getByLabel('Tracking number').fill('1Z999AA10123456784')
    await office.getByRole('button', { name: 'Ship' }).click()
    await office.waitForLoadState()
    const carrier = office.getByLabel('Carrier')
    expect(await carrier.getAttribute('aria-invalid')).toBe('true')
    expect(await office.textContent('#carrier-error')).toBe('Carrier must not be blank.')
    expect(await carrier.evaluate((e) => e.getAttribute('aria-describedby'))).toBe('carrier-error')
    await carrier.fill('UPS')
    await office.getByLabel('Tracking number').fill('1Z999AA10123456784')
    await office.getByRole('button', { name: 'Ship' }).click()
    await office.waitForURL(`${baseUrl}/admin/orders/${orderNumber}`)
    expect(await office.textContent('.order-status')).toBe('shipped')
    const history = (await office.textContent('table.history')) ?? ''
    expect(history).toContain('packed → shipped')
    expect(history).toContain('dispatch@example.com')
    mkdirSync('test-results', { recursive: true })
    await office.screenshot({ path: 'test-results/admin-order.png', fullPage: true })

    // The shopper reloads the confirmation.
    await shop.reload()
    expect(await shop.textContent('.order-status')).toBe('shipped')
    expect(await shop.textContent('.tracking-number')).toBe('1Z999AA10123456784')
    expect(await shop.textContent('main')).toContain('Shipped with UPS')
    await shop.screenshot({ path: 'test-results/confirmation-shipped.png', fullPage: true })
    await office.goto(`${baseUrl}/admin/orders`)
    await office.screenshot({ path: 'test-results/admin-orders.png', fullPage: true })
    await shopper.close()
    await staff.close()
  })

  it('"Cancel order" looks unlike the other buttons and asks to confirm; the stock comes back', async () => {
    const stockOf = () => stock(() => t.app.db).of('MUG-001')
    const before = await stockOf()
    const orderNumber = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 2 }])
    const context = await browser.newContext()
    const office = await context.newPage()
    await office.goto(`${baseUrl}/admin/orders/${orderNumber}`)
    await office.getByLabel('E-mail').fill('dispatch@example.com')
    await office.getByLabel('Password').fill(password)
    await office.getByRole('button', { name: 'Sign in' }).click()
    await office.waitForURL(`${baseUrl}/admin/orders/${orderNumber}`)

    const pack = office.getByRole('button', { name: 'Mark packed' })
    const cancel = office.getByRole('link', { name: 'Cancel order…' })
    // In the page: the tests' types have no DOM, hence the window's function by hand.
    type Styles = { getComputedStyle: (e: unknown) => { backgroundColor: string } }
    const background = (l: typeof pack) =>
      l.evaluate((e) => (globalThis as unknown as Styles).getComputedStyle(e).backgroundColor)
    expect(await background(cancel)).not.toBe(await background(pack))
    expect(await background(cancel)).toBe('rgb(164, 38, 44)') // --danger
    // Changing one's mind: nothing happened.
    await cancel.click()
    await office.waitForURL(`${baseUrl}/admin/orders/${orderNumber}/cancel`)
    expect(await office.textContent('main')).toContain('Cancelling cannot be undone.')
    await office.screenshot({ path: 'test-results/admin-order-cancel.png', fullPage: true })
    await office.getByRole('link', { name: 'Keep the order' }).click()
    await office.waitForURL(`${baseUrl}/admin/orders/${orderNumber}`)
    expect(await office.textContent('.order-status')).toBe('placed')
    expect(await stockOf()).toBe(before - 2)
    // Confirmed: cancelled, and the two mugs are back.
    await cancel.click()
    await office.getByRole('button', { name: `Cancel order ${orderNumber}` }).click()
    await office.waitForURL(`${baseUrl}/admin/orders/${orderNumber}`)
    expect(await office.textContent('.order-status')).toBe('cancelled')
    expect(await stockOf()).toBe(before)
    await context.close()
  })

  it('after the session ended, "Mark packed" leads to a sign-in that says it was not done; signing out says so', async () => {
    const orderNumber = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
    const context = await browser.newContext()
    const office = await context.newPage()
    const signInHere = async () => {
      await office.getByLabel('E-mail').fill('dispatch@example.com')
      await office.getByLabel('Password').fill(password)
      await office.getByRole('button', { name: 'Sign in' }).click()
    }
    await office.goto(`${baseUrl}/admin/orders/${orderNumber}`)
    await signInHere()
    await office.waitForURL(`${baseUrl}/admin/orders/${orderNumber}`)
    // 32 minutes without a request, then the button.
    await sql`update staff_sessions set last_seen_at = now() - interval '32 minutes'`.execute(
      t.app.db,
    )
    await office.getByRole('button', { name: 'Mark packed' }).click()
    await office.waitForURL(/\/admin\/login\?/)
    expect(await office.getByRole('status').textContent()).toBe(
      "Your session ended, so your change to the order's status was not done. Sign in again, then do it again.",
    )
    await office.screenshot({ path: 'test-results/admin-session-ended.png', fullPage: true })
    await signInHere()
    await office.waitForURL(`${baseUrl}/admin/orders/${orderNumber}`)
    expect(await office.textContent('.order-status')).toBe('placed')

    await office.goto(`${baseUrl}/admin`)
    await office.getByRole('button', { name: 'Sign out' }).click()
    await office.waitForURL(/\/admin\/login\?done=signed-out$/)
    expect(await office.getByRole('status').textContent()).toBe('You are signed out.')
    await context.close()
  })
})
