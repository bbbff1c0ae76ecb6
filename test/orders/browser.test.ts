import { mkdirSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumAvailable, launchChromium, listen } from '../helpers/browser.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'

describe.skipIf(!chromiumAvailable)('in a real browser', () => {
  let t: TestApp
  let browser: Browser
  let baseUrl: string

  beforeAll(async () => {
    t = await buildTestApp({}, { salesFold: true })
    baseUrl = await listen(t)
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  it('a shopper fills in the form, submits and sees the confirmation', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } })
    await page.goto(`${baseUrl}/`)
    // Two products in one order: a quantity for each, the others left empty.
    await page.getByLabel('Quantity of Wool Blanket', { exact: true }).fill('2')
    await page.getByLabel('Quantity of Enamel Camp Mug', { exact: true }).fill('1')
    await page.getByLabel('Full name', { exact: true }).fill('Grace Hopper')
    await page.getByLabel('E-mail', { exact: true }).fill('grace@example.com')
    await page.getByLabel('Street address', { exact: true }).fill('1 Compiler Court')
    await page.getByLabel('City', { exact: true }).fill('Arlington')
    await page.getByLabel('State', { exact: true }).selectOption('VA')
    await page.getByLabel('ZIP code', { exact: true }).fill('22201')
    await page.getByRole('button', { name: 'Place order' }).click()

    await page.waitForURL(/\/orders\/[0-9A-Z]{5}-[0-9A-Z]{5}$/)
    const orderNumber = page.url().split('/').pop() as string
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toContain(
      orderNumber,
    )
    const body = (await page.textContent('main')) ?? ''
    expect(body).toContain('Wool Blanket')
    expect(body).toContain('$318.00')
    expect(body).toContain('Enamel Camp Mug')
    expect(body).toContain('$336.00')
    expect(body).toContain('Arlington, VA 22201')
    expect(body).toContain('Most popular in Virginia')

    mkdirSync('test-results', { recursive: true })
    await page.screenshot({ path: 'test-results/confirmation.png', fullPage: true })
    await page.goto(`${baseUrl}/`)
    await page.screenshot({ path: 'test-results/order-form.png', fullPage: false })
  })
})
