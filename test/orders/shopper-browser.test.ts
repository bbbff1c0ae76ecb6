// The shopper's pages as a person uses them, in headless Chromium at the widths a reviewer found
// them broken at: a quantity typed where the box is clicked or tapped, the price and the
// quantity never on top of each other, a failed submit that says what is wrong and takes focus
// there, and a confirmation that labels its numbers and fits a 320 px screen.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumAvailable, fillShipping, launchChromium, listen } from '../helpers/browser.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { addStaff, password } from '../helpers/staff.ts'

interface Box {
  x: number
  y: number
  width: number
  height: number
}
interface Card {
  name: string
  price: Box
  label: Box
  input: Box
  card: Box
}
/** The gap between two boxes, in CSS px: negative when they overlap, 0 when they touch. */
const gap = (a: Box, b: Box) =>
  Math.max(
    b.x - (a.x + a.width),
    a.x - (b.x + b.width),
    b.y - (a.y + a.height),
    a.y - (b.y + b.height),
  )

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
      const size = (await box.boundingBox()) as Box
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

  it('sends a quantity, a name and a ZIP as typed: 1000 is refused, not cut to 100; letters typed with their accents kept whole; 22201 - 1234 whole', async () => {
    const page = await browser.newPage()
    await page.goto(`${baseUrl}/`)
    const box = page.getByLabel('Quantity of Wool Blanket', { exact: true })
    await box.pressSequentially('1000')
    expect(await box.inputValue()).toBe('1000')
    await fillShipping(page)
    // Each é typed as e and U+0301: 124 UTF-16 units, 99 characters after NFC (the limit is
    // 100); a maxlength of 100 cut it, between a letter and its accent.
    const name = 'Zoe\u0301 '.repeat(25).trim()
    const field = page.getByLabel('Full name', { exact: true })
    await field.fill('')
    await field.pressSequentially(name)
    expect(await field.inputValue()).toBe(name)
    // ZIP+4 typed with spaces around the hyphen, which the server takes: a maxlength of 10 cut it.
    const zip = page.getByLabel('ZIP code', { exact: true })
    await zip.fill('')
    await zip.pressSequentially('22201 - 1234')
    expect(await zip.inputValue()).toBe('22201 - 1234')
    await page.getByRole('button', { name: 'Place order' }).click()
    await page.getByText('from 0 to 100').first().waitFor()
    await box.fill('2')
    await page.getByRole('button', { name: 'Place order' }).click()
    expect(await orderedQuantity(page, 'BLK-007')).toBe(2)
    const number = page.url().split('/').pop()
    const order = (await t.app.inject({ url: `/api/orders/${number}` })).json()
    expect(order.customer.name).toBe(name.normalize('NFC'))
    expect(order.customer.zip).toBe('22201-1234')
    await page.close()
  })

  it('never lets the price and the quantity touch: 320 to 1280 px and 200% zoom', async () => {
    // 200% zoom of a 1280 px window is a 640 CSS px viewport at twice the pixels.
    for (const [width, scale] of [
      [320, 1],
      [360, 1],
      [375, 1],
      [560, 1],
      [640, 2],
      [900, 1],
      [1280, 1],
    ] as const) {
      const context = await browser.newContext({
        viewport: { width, height: 800 },
        deviceScaleFactor: scale,
      })
      const page = await context.newPage()
      await page.goto(`${baseUrl}/`)
      const cards = await page.evaluate<
        Card[]
      >(`[...document.querySelectorAll('li.product')].map((li) => {
        // The box of what is drawn (a range over the element's contents): text that overflows
        // its element's box is drawn over its neighbour all the same.
        const rect = (selector) => {
          const range = document.createRange()
          range.selectNodeContents(li.querySelector(selector))
          return range.getBoundingClientRect().toJSON()
        }
        return {
          name: li.querySelector('.product-name').textContent,
          price: rect('.price-stock'),
          label: rect('.quantity label'),
          input: li.querySelector('.quantity input').getBoundingClientRect().toJSON(),
          card: li.getBoundingClientRect().toJSON(),
        }
      })`)
      expect(cards.length).toBeGreaterThanOrEqual(12)
      for (const { name, price, label, input, card } of cards) {
        const at = `${name} at ${width} px`
        expect(gap(price, label), at).toBeGreaterThan(0)
        expect(gap(price, input), at).toBeGreaterThan(0)
        // And the box stays inside its card (two narrow cards in a row pushed it past the edge).
        expect(input.x + input.width, at).toBeLessThanOrEqual(card.x + card.width - 4)
      }
      await context.close()
    }
  })

  it('after a failed submit, focuses a summary of the errors that links to each field', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(`${baseUrl}/`)
    await page.getByLabel('Quantity of Wool Blanket', { exact: true }).fill('abc')
    await fillShipping(page)
    await page.getByLabel('E-mail', { exact: true }).fill('grace@')
    await page.getByLabel('ZIP code', { exact: true }).fill('')
    await page.getByRole('button', { name: 'Place order' }).click()
    await page.waitForURL(`${baseUrl}/orders`)
    expect(await page.title()).toMatch(/^Error: /)
    const summary = page.locator('#error-summary')
    // Focused on load, without JavaScript (the pages run none).
    await expect
      .poll(() => page.evaluate('document.activeElement && document.activeElement.id'))
      .toBe('error-summary')
    const links = await page.evaluate<string[][]>(
      `[...document.querySelectorAll('#error-summary a')].map((a) => [a.getAttribute('href'), a.textContent.trim()])`,
    )
    expect(links).toEqual([
      ['#qty-BLK-007', 'Quantity of Wool Blanket must be a whole number from 0 to 100.'],
      ['#email', 'Enter an e-mail address like name@example.com.'],
      ['#zip', 'ZIP code must be a 5-digit ZIP code, like 94107 or 94107-1234.'],
    ])
    // Each link takes the shopper to its field; the field still says what is wrong with it.
    await summary.getByRole('link', { name: /ZIP code/ }).click()
    expect(await page.evaluate('document.activeElement.id')).toBe('zip')
    const zip = page.getByLabel('ZIP code', { exact: true })
    expect(await zip.getAttribute('aria-invalid')).toBe('true')
    expect(await zip.getAttribute('aria-describedby')).toBe('zip-error')
    await page.close()
  })

  // Back from the confirmation leads to the form refused on the way: it was no-store, so
  // Chromium could only post it again, and showed "Confirm Form Resubmission" (ERR_CACHE_MISS).
  it('Back after a refused submit shows the refused form again, unposted; placing it again orders once', async () => {
    /** Forms the server refused for a mistake (400), as orders_rejected_total counts them. */
    const refusals = async () => {
      const metric = t.app.metrics.registry.getSingleMetric('orders_rejected_total')
      const values = (await metric?.get())?.values ?? []
      return values.find((v) => v.labels.reason === 'validation')?.value ?? 0
    }
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(`${baseUrl}/`)
    await page.getByLabel('Quantity of Wool Blanket', { exact: true }).fill('1')
    await fillShipping(page, 'Back Button')
    await page.getByLabel('ZIP code', { exact: true }).fill('')
    await page.getByRole('button', { name: 'Place order' }).click()
    await page.waitForURL(`${baseUrl}/orders`)
    const key = await page.inputValue('input[name="idempotencyKey"]')
    await page.getByLabel('ZIP code', { exact: true }).fill('22201')
    await page.getByRole('button', { name: 'Place order' }).click()
    await page.waitForURL(/\/orders\/[0-9A-Z]{5}-[0-9A-Z]{5}$/)
    const placed = page.url()
    const refused = await refusals()

    const back = await page.goBack()
    expect(back?.status()).toBe(400)
    expect(page.url()).toBe(`${baseUrl}/orders`)
    expect(await page.locator('#error-summary').textContent()).toContain('ZIP code')
    // From the browser's cache: not posted again, and the form's key is the one placed.
    expect(await refusals()).toBe(refused)
    expect(await page.inputValue('input[name="idempotencyKey"]')).toBe(key)
    await page.getByLabel('ZIP code', { exact: true }).fill('22201')
    await page.getByRole('button', { name: 'Place order' }).click()
    await page.waitForURL(placed)
    const orders = await t.app.db
      .selectFrom('orders')
      .select('order_number')
      .where('customer_name', '=', 'Back Button')
      .execute()
    expect(orders).toHaveLength(1)
    await page.close()
  })

  for (const [device, width, height] of [
    ['a desktop', 1280, 900],
    ['a phone', 375, 812],
  ] as const) {
    it(`nothing chosen: the summary's link shows the products with the message in view, on ${device}`, async () => {
      const page = await browser.newPage({ viewport: { width, height } })
      await page.goto(`${baseUrl}/`)
      await fillShipping(page)
      await page.getByRole('button', { name: 'Place order' }).click()
      await page.waitForURL(`${baseUrl}/orders`)
      const link = page.locator('#error-summary').getByRole('link', { name: /Choose at least one/ })
      await link.click()
      // The message and the products' heading are on screen, whole, once the jump is done.
      const inView = (selector: string) =>
        page.evaluate(`(() => {
          const box = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect()
          return box.top >= 0 && box.bottom <= innerHeight
        })()`)
      await expect.poll(() => inView('#items-error')).toBe(true)
      expect(await inView('.products legend')).toBe(true)
      expect(await page.textContent('#items-error')).toBe(
        'Choose at least one product: give it a quantity of 1 or more.',
      )
      // The jump moved the keyboard there too: Tab reaches the first quantity one can type in.
      const first = await page.locator('input.qty:not([disabled])').first().getAttribute('id')
      await page.keyboard.press('Tab')
      expect(await page.evaluate('document.activeElement.id')).toBe(first)
      await page.close()
    })
  }

  /** Places an order by the API for `name` at `address`, and gives its number. */
  async function placeOrder(key: string, who: Partial<typeof customer> = {}): Promise<string> {
    const placed = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': key },
      payload: {
        items: [
          { sku: 'LMP-006', quantity: 1 },
          { sku: 'MUG-001', quantity: 3 },
        ],
        customer: { ...customer, ...who },
      },
    })
    expect(placed.statusCode).toBe(201)
    return placed.json().orderNumber
  }

  it('labels every number of the confirmation, its headers kept for assistive technology', async () => {
    const orderNumber = await placeOrder('shopper-browser-labels')
    for (const width of [320, 360, 1280]) {
      const page = await browser.newPage({ viewport: { width, height: 800 } })
      await page.goto(`${baseUrl}/orders/${orderNumber}`)
      // The header row stays for assistive technology at every width (visually hidden or not).
      const headers = page.locator('table.lines thead').getByRole('columnheader')
      expect(await headers.allTextContents(), `${width} px`).toEqual([
        'Item',
        'Quantity',
        'Unit price',
        'Amount',
      ])
      // And a sighted reader sees what each number is: the header row, or a label by each.
      const header = (await page.locator('table.lines thead').boundingBox())?.height ?? 0
      const labels = await page.evaluate<string[]>(
        `[...document.querySelectorAll('table.lines tbody td')].map((td) => getComputedStyle(td, '::before').content.replace(/^"|"$/g, ''))`,
      )
      if (width < 640) {
        expect(header, `${width} px`).toBeLessThanOrEqual(1)
        const each = ['Item', 'Quantity', 'Unit price', 'Amount']
        expect(labels, `${width} px`).toEqual([...each, ...each])
      } else {
        expect(header, `${width} px`).toBeGreaterThan(10)
        expect(labels, `${width} px`).toEqual(labels.map(() => 'none'))
      }
      await page.close()
    }
  })

  it("labels the back office's order lines at 360 px as the confirmation's", async () => {
    const orderNumber = await placeOrder('shopper-browser-back-office')
    await addStaff(t.app, 'shopper-browser@example.com')
    const page = await browser.newPage({ viewport: { width: 360, height: 800 } })
    await page.goto(`${baseUrl}/admin/login`)
    await page.getByLabel('E-mail').fill('shopper-browser@example.com')
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`${baseUrl}/admin`)
    await page.goto(`${baseUrl}/admin/orders/${orderNumber}`)
    const cells = await page.evaluate<string[]>(
      `[...document.querySelectorAll('table.lines tbody td')].map((td) => getComputedStyle(td).display + ' ' + getComputedStyle(td, '::before').content)`,
    )
    // Was `table-cell none` each, under a header row hidden from screen readers too.
    const each = ['"Item"', '"Quantity"', '"Unit price"', '"Amount"'].map((l) => `block ${l}`)
    expect(cells).toEqual([...each, ...each])
    await page.close()
  })

  it('wraps long words on the confirmation instead of scrolling sideways at 320 px', async () => {
    const long = 'Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaft'
    const orderNumber = await placeOrder('shopper-browser-long', {
      name: long,
      address: `1 ${long}strasse`,
    })
    const page = await browser.newPage({ viewport: { width: 320, height: 800 } })
    await page.goto(`${baseUrl}/orders/${orderNumber}`)
    expect(await page.textContent('address')).toContain(long)
    // No horizontal scrolling (WCAG 1.4.10 reflow).
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    )
    expect(overflow).toBeLessThanOrEqual(0)
    // An order number as long as one can be typed, on the page that says it is unknown.
    await page.goto(`${baseUrl}/orders/${'W'.repeat(32)}`)
    expect(await page.textContent('main')).toContain(`We could not find order ${'W'.repeat(32)}.`)
    expect(
      await page.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      ),
    ).toBeLessThanOrEqual(0)
    await page.close()
  })
  it("never breaks a product's code across lines: BAG-004 stays whole on a phone", async () => {
    const placed = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': 'shopper-browser-sku' },
      payload: {
        items: ['BAG-004', 'BLK-007', 'MUG-001', 'PRS-012'].map((sku) => ({ sku, quantity: 1 })),
        customer,
      },
    })
    expect(placed.statusCode).toBe(201)
    for (const width of [320, 360, 375, 414]) {
      const page = await browser.newPage({ viewport: { width, height: 800 } })
      await page.goto(`${baseUrl}/orders/${placed.json().orderNumber}`)
      // An inline element has a box per line it is drawn on.
      const lines = await page.$$eval('.sku', (codes) =>
        codes.map((code) => `${code.textContent}: ${code.getClientRects().length}`),
      )
      expect(lines, `${width} px`).toEqual(
        ['BAG-004', 'BLK-007', 'MUG-001', 'PRS-012'].map((sku) => `${sku}: 1`),
      )
      await page.close()
    }
  })

  it('never breaks a ZIP+4, the order number or a price on a phone', async () => {
    // A city long enough that its line ends somewhere in `78701-1234` at some width from 300 to
    // 430 px. The order number broke after its hyphen below 341 px; Chromium keeps `78701-1234`
    // whole (no break between a hyphen and a digit, UAX #14 LB25), which not every browser
    // does (a reviewer's phone broke it at 375 px): each is in an element that says nowrap.
    const city = 'Lake Jackson Village of the Hills'
    const orderNumber = await placeOrder('shopper-browser-zip4', { city, zip: '78701-1234' })
    const page = await browser.newPage({ viewport: { width: 375, height: 800 } })
    await page.goto(`${baseUrl}/orders/${orderNumber}`)
    const found = new Set<string>()
    const wrapped: string[] = []
    for (let width = 300; width <= 430; width += 1) {
      await page.setViewportSize({ width, height: 800 })
      // Each value: the lines it is drawn on (a Range over its characters has a box per line),
      // and its element's white-space.
      const values = await page.evaluate<Record<string, string>>(`(() => {
        const texts = (selector) => [...document.querySelectorAll(selector)].flatMap((el) => {
          const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT)
          const all = []
          while (walk.nextNode()) all.push(walk.currentNode)
          return all
        })
        const out = {}
        const look = (what, node, text) => {
          const at = node.textContent.indexOf(text)
          if (at < 0) return
          const range = document.createRange()
          range.setStart(node, at)
          range.setEnd(node, at + text.length)
          const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size
          out[what] = lines + ' ' + getComputedStyle(node.parentElement).whiteSpace
        }
        for (const n of texts('address')) look('ZIP', n, '78701-1234')
        for (const n of texts('h1')) look('order number', n, ${JSON.stringify(orderNumber)})
        for (const [i, n] of texts('table.lines td.num').entries()) if (n.textContent.includes('$')) look('price ' + i, n, n.textContent.trim())
        return out
      })()`)
      for (const [what, shown] of Object.entries(values)) {
        found.add(what)
        if (shown !== '1 nowrap') wrapped.push(`${what} at ${width} px: ${shown}`)
      }
    }
    expect([...found].filter((what) => !what.startsWith('price '))).toEqual(['ZIP', 'order number'])
    // Two unit prices, two amounts and the total.
    expect(found.size).toBe(2 + 5)
    expect(wrapped).toEqual([])
    await page.close()
  })

  it("keeps a name's stacked combining marks to its own line: the heading above and the street below are drawn as without them", async () => {
    // "Zalgo" text: 45 marks above (U+0300 to U+032C, cycling) and 45 below one letter, 51
    // characters in all, which the server takes (up to 100). Unclipped they rose about 12 lines.
    const above = Array.from({ length: 45 }, (_, i) => String.fromCodePoint(0x300 + (i % 20)))
    const below = Array.from({ length: 45 }, (_, i) => String.fromCodePoint(0x316 + (i % 20)))
    const zalgo = `Zoe Z${above.join('')}${below.join('')}`
    const plain = await placeOrder('shopper-browser-plain', { name: 'Zoe Z' })
    const stacked = await placeOrder('shopper-browser-zalgo', { name: zalgo })
    const page = await browser.newPage({ viewport: { width: 800, height: 900 } })
    /** The pixels of the heading over the address and of the street line under the name. */
    const shots = async (orderNumber: string) => {
      await page.goto(`${baseUrl}/orders/${orderNumber}`)
      const heading = await page.getByRole('heading', { name: 'Shipping to' }).screenshot()
      const box = (await page.locator('address').boundingBox()) as Box
      // The address's last two lines (street, city), below the leading the name's clip may
      // reach (a quarter em, 4 px): the name's marks below fell on their letters.
      const street = await page.screenshot({
        clip: {
          x: box.x,
          y: box.y + box.height / 3 + 4,
          width: box.width,
          height: (box.height * 2) / 3 - 4,
        },
      })
      return { heading, street }
    }
    const without = await shots(plain)
    const withMarks = await shots(stacked)
    expect(await page.textContent('address')).toContain(zalgo.normalize('NFC'))
    expect(withMarks.heading.equals(without.heading), 'the heading above').toBe(true)
    expect(withMarks.street.equals(without.street), 'the lines below').toBe(true)
    // A real name's stacked marks are not cut by the clip: Vietnamese (two marks on a capital),
    // Arabic (a fatha over a shadda, in ٱللَّٰهِ).
    for (const [key, real] of [
      ['shopper-browser-accents', 'ẪỆỖ Nguyễn Thị Ậu'],
      ['shopper-browser-arabic', 'مُحَمَّدٌ بْنُ عَبْدِ ٱللَّٰهِ'],
    ]) {
      await accentsDrawnWhole(await placeOrder(key as string, { name: real }))
    }
    await page.close()
  })

  /** The first typed line of `orderNumber`'s confirmation is drawn as it is without the clip. */
  async function accentsDrawnWhole(accents: string) {
    // Twice the pixels, as at 200% zoom: a mark cut by a pixel row shows.
    const page = await browser.newPage({
      viewport: { width: 320, height: 900 },
      deviceScaleFactor: 2,
    })
    await page.goto(`${baseUrl}/orders/${accents}`)
    const name = page.locator('address .typed-line').first()
    // The line and 12 px above and below it: what ink the clip would cut is drawn there.
    const line = (await name.boundingBox()) as Box
    const around = { ...line, y: line.y - 12, height: line.height + 24 }
    const clipped = await page.screenshot({ clip: around })
    await name.evaluate((el) => el.setAttribute('style', 'overflow: visible'))
    expect(clipped.equals(await page.screenshot({ clip: around })), 'accents drawn whole').toBe(
      true,
    )
    await page.close()
  }

  it("wraps a long word of a typed line in the back office's order page and list at 320 px, not clipping it", async () => {
    const long = 'Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaft'
    const orderNumber = await placeOrder('shopper-browser-long-admin', { name: long })
    await addStaff(t.app, 'shopper-browser-long@example.com')
    const page = await browser.newPage({ viewport: { width: 320, height: 800 } })
    await page.goto(`${baseUrl}/admin/login`)
    await page.getByLabel('E-mail').fill('shopper-browser-long@example.com')
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`${baseUrl}/admin`)
    for (const path of [`/admin/orders/${orderNumber}`, '/admin/orders']) {
      await page.goto(`${baseUrl}${path}`)
      // How much wider each typed line's text is than its box: what the clip would hide.
      const hidden = await page.evaluate<number[]>(
        `[...document.querySelectorAll('.typed-line')].map((el) => {
          const range = document.createRange()
          range.selectNodeContents(el)
          const style = getComputedStyle(el)
          const content = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)
          return Math.round(range.getBoundingClientRect().width - content)
        })`,
      )
      expect(hidden.length, path).toBeGreaterThan(0)
      expect(Math.max(...hidden), path).toBeLessThanOrEqual(0)
    }
    await page.close()
  })
})
