import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { type Browser, chromium, type Page } from 'playwright-core'
import type { TestApp } from './context.ts'

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/**
 * Debian's Chromium (never a downloaded one). On a developer's machine without it the browser
 * tests say so and skip; in CI a missing browser fails the run.
 */
export const chromiumAvailable = existsSync(executablePath)
if (!chromiumAvailable && process.env.CI) {
  throw new Error(`Chromium not found at ${executablePath} (set CHROMIUM_PATH)`)
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
}

/** Puts the test app on an ephemeral port of 127.0.0.1 and returns its base URL. */
export async function listen(t: TestApp): Promise<string> {
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  return `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
}

/** Fills the shipping fields of the order form (a Virginia address). */
export async function fillShipping(page: Page, name = 'Grace Hopper'): Promise<void> {
  await page.getByLabel('Full name', { exact: true }).fill(name)
  await page.getByLabel('E-mail', { exact: true }).fill('grace@example.com')
  await page.getByLabel('Street address', { exact: true }).fill('1 Compiler Court')
  await page.getByLabel('City', { exact: true }).fill('Arlington')
  await page.getByLabel('State', { exact: true }).selectOption('VA')
  await page.getByLabel('ZIP code', { exact: true }).fill('22201')
}
