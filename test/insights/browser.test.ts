import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { foldSales } from '../../src/insights/sales-fold.ts'
import { placeOrder } from '../../src/orders/place-order.ts'
import { stateCodes } from '../../src/us-states.ts'
import {
  chromiumAvailable,
  focusProblems,
  focusShown,
  launchChromium,
  listen,
} from '../helpers/browser.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { addStaff, password } from '../helpers/staff.ts'

const skus = ['CHR-014', 'MUG-001', 'TEE-002', 'BLK-007', 'NTB-009']

describe.skipIf(!chromiumAvailable)('the insights map in a real browser', () => {
  let t: TestApp
  let browser: Browser
  let baseUrl: string

  beforeAll(async () => {
    // Placing orders on the embedded database blocks the event loop a while: keep the
    // overload guard from answering the browser's first request with 503.
    t = await buildTestApp({ MAX_EVENT_LOOP_DELAY_MS: '0' })
    // Skewed orders: earlier states in the list get more, a few states get none.
    const orders = stateCodes
      .slice(0, 45)
      .flatMap((state, i) =>
        Array.from({ length: 1 + ((i * 37) % 23) }, (_, k) => ({ state, sku: skus[(i + k) % 5] })),
      )
    for (const { state, sku } of orders) {
      await placeOrder(t.app.db, {
        items: [{ sku: sku as string, quantity: 1 }],
        customer: { ...customer, state },
        idempotencyKey: randomUUID(),
      })
    }
    while ((await foldSales(t.app.db)) > 0) {}
    baseUrl = await listen(t)
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  it('draws every state shaded, names the best seller on hover, and links to the state', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
    const errors: string[] = []
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
    expect((await page.goto(`${baseUrl}/insights`))?.status()).toBe(200)

    const states = page.locator('svg path.state')
    await expect(states.count()).resolves.toBe(51)
    // Shaded by the stylesheet: a state with orders is filled darker than one without.
    const fill = (code: string) =>
      page
        .locator(`path[data-state="${code}"]`)
        .evaluate((el) => el.ownerDocument.defaultView?.getComputedStyle(el).fill)
    expect(await fill('WY')).toBe('rgb(230, 226, 216)') // no orders
    expect(await fill('AL')).not.toBe(await fill('WY'))
    // Texas is drawn where Texas is: big, and south-west of Illinois.
    const box = async (code: string) =>
      (await page.locator(`path[data-state="${code}"]`).boundingBox()) as {
        x: number
        y: number
        width: number
      }
    const [tx, il] = [await box('TX'), await box('IL')]
    expect(tx.width).toBeGreaterThan(150)
    expect(tx.x).toBeLessThan(il.x)
    expect(tx.y).toBeGreaterThan(il.y)

    await page.locator('path[data-state="CA"]').hover()
    // The public map counts items sold; order counts are the staff's (the test below).
    await expect(page.locator('path[data-state="CA"] title').textContent()).resolves.toMatch(
      /^California: \d+ items?, best seller: /,
    )
    await expect(page.locator('.map-legend li').count()).resolves.toBeGreaterThan(2)
    await expect(page.getByRole('table').locator('tbody tr').count()).resolves.toBe(51)

    mkdirSync('test-results', { recursive: true })
    await page.screenshot({ path: 'test-results/insights.png', fullPage: true })

    await page.locator('a[href="/insights/CA"]').first().click()
    await page.waitForURL(/\/insights\/CA$/)
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('California')
    await expect(page.locator('.bar rect').count()).resolves.toBeGreaterThan(0)
    await page.screenshot({ path: 'test-results/insights-state.png', fullPage: true })
    expect(errors).toEqual([])
  })

  it('shows which state has focus, DC (a few pixels across) by a ring over its neighbours', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
    await page.goto(`${baseUrl}/insights`)
    // The darkest shade and the lightest: the focused state's line shows against either.
    for (const shade of ['map-c5', 'map-c0']) {
      await page.locator(`svg a:has(path.${shade})`).first().focus()
      const focused = await focusShown(page)
      expect(focused?.kind, shade).toBe('map')
      if (focused) expect(focusProblems(focused), shade).toEqual([])
    }

    // What the screen shows around DC: the box of the pixels drawn in ink (#1d2421).
    const dc = (await page.locator('path[data-state="DC"]').boundingBox()) as {
      x: number
      y: number
    }
    const inkAroundDc = async () => {
      const png = await page.screenshot({
        clip: { x: dc.x - 30, y: dc.y - 30, width: 64, height: 64 },
      })
      const canvas = await browser.newPage()
      // Evaluated as text: the test's TypeScript has no DOM types.
      const ink = await canvas.evaluate<{ width: number; height: number }>(`(async () => {
        const img = new Image()
        img.src = 'data:image/png;base64,${png.toString('base64')}'
        await img.decode()
        const c = document.createElement('canvas')
        c.width = img.width
        c.height = img.height
        const g = c.getContext('2d')
        g.drawImage(img, 0, 0)
        const { data } = g.getImageData(0, 0, c.width, c.height)
        let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1]
        for (let i = 0; i < data.length; i += 4) {
          if (Math.abs(data[i] - 29) + Math.abs(data[i + 1] - 36) + Math.abs(data[i + 2] - 33) > 40) continue
          const x = (i / 4) % c.width
          const y = Math.floor(i / 4 / c.width)
          x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y)
        }
        return { width: x1 < 0 ? 0 : x1 - x0 + 1, height: y1 < 0 ? 0 : y1 - y0 + 1 }
      })()`)
      await canvas.close()
      return ink
    }
    const dcLink = page.locator('svg a:has(path[data-state="DC"])')
    await page.locator('svg a:has(path[data-state="CT"])').focus()
    expect(await inkAroundDc()).toEqual({ width: 0, height: 0 })
    await dcLink.focus()
    const focused = await focusShown(page)
    if (focused) expect(focusProblems(focused)).toEqual([])
    // DC is ~4 px across; its ring, drawn after Maryland and Virginia, ~19 px.
    const ring = await inkAroundDc()
    expect(ring.width).toBeGreaterThanOrEqual(16)
    expect(ring.height).toBeGreaterThanOrEqual(16)
    await page.close()
  })

  it('shows staff, once signed in, the map by orders at /admin/insights', async () => {
    await addStaff(t.app, 'clerk@example.com')
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
    await page.goto(`${baseUrl}/admin/insights`)
    await page.waitForURL(/\/admin\/login\?next=/)
    await page.getByLabel('E-mail').fill('clerk@example.com')
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(/\/admin\/insights$/)
    await page.locator('path[data-state="CA"]').hover()
    await expect(page.locator('path[data-state="CA"] title').textContent()).resolves.toMatch(
      /^California: \d+ orders?, best seller: /,
    )
    await page.locator('a[href="/admin/insights/CA"]').first().click()
    await page.waitForURL(/\/admin\/insights\/CA$/)
    await expect(page.locator('.bar rect title').first().textContent()).resolves.toMatch(
      / sold, \$[0-9,]+\.[0-9]{2}$/,
    )
  })
})
