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

/** A colour as getComputedStyle gives it, `rgb(r, g, b)` or `rgba(r, g, b, a)`: [r, g, b, a]. */
export function parseColor(css: string): [number, number, number, number] {
  const m = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(css)
  if (!m) throw new Error(`not an rgb() colour: ${css}`)
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])]
}

/** WCAG 2.1's contrast ratio of two colours (their alpha aside), from relative luminance. */
export function contrastRatio(a: string, b: string): number {
  const luminance = (css: string) => {
    const [r, g, b] = parseColor(css)
      .slice(0, 3)
      .map((v) => {
        const c = v / 255
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
      }) as [number, number, number]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
  }
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number]
  return (light + 0.05) / (dark + 0.05)
}

/**
 * How the focused element shows its focus. Most elements: their outline, and the opaque
 * background it is drawn on (the element's own when the outline is inset, else the nearest
 * ancestor's). A state of the insights map (a link in the SVG): its shape's fill and stroke.
 * null when nothing of the page has focus.
 */
export type FocusShown = { name: string; key: string; focusVisible: boolean } & (
  | {
      kind: 'outline'
      style: string
      width: number
      color: string
      offset: number
      background: string
      border: string
    }
  | { kind: 'map'; fill: string; stroke: string; strokeWidth: number }
)

export function focusShown(page: Page): Promise<FocusShown | null> {
  // Evaluated as text: the test's TypeScript has no DOM types (the page's code is the browser's).
  return page.evaluate<FocusShown | null>(`(() => {
    const el = document.activeElement
    if (!el || el === document.body || el === document.documentElement) return null
    const label = el.getAttribute('aria-label') || el.getAttribute('name') || el.textContent
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' +
      (label || '').trim().replace(/\\s+/g, ' ').slice(0, 50) + '"'
    const key = []
    for (let node = el; node.parentElement; node = node.parentElement) {
      key.unshift([...node.parentElement.children].indexOf(node))
    }
    const focusVisible = el.matches(':focus-visible')
    const shape = el.closest('svg') ? el.querySelector('.state') : null
    if (shape) {
      const s = getComputedStyle(shape)
      return { name, key: key.join('.'), focusVisible, kind: 'map', fill: s.fill, stroke: s.stroke,
        strokeWidth: parseFloat(s.strokeWidth) }
    }
    const s = getComputedStyle(el)
    const offset = parseFloat(s.outlineOffset)
    let background = 'rgb(255, 255, 255)'
    for (let node = offset < 0 ? el : el.parentElement; node; node = node.parentElement) {
      const bg = getComputedStyle(node).backgroundColor
      if (bg.startsWith('rgb(')) { background = bg; break }
    }
    return { name, key: key.join('.'), focusVisible, kind: 'outline', style: s.outlineStyle,
      width: parseFloat(s.outlineWidth), color: s.outlineColor, offset, background,
      border: s.borderTopColor }
  })()`)
}

/**
 * What is wrong with how the focused element shows focus, or nothing: an opaque outline of
 * 2 px or more, solid (not the browser's `auto`, whose colours the page does not choose), of
 * 3:1 or more against what it is drawn on (WCAG 2.4.7 and 1.4.11); on a map state, a stroke of
 * 3 px or more, of 3:1 or more against the state's fill while focused.
 */
export function focusProblems(f: FocusShown): string[] {
  const problems: string[] = []
  const say = (what: string) => problems.push(`${f.name}: ${what}`)
  if (!f.focusVisible) say('not :focus-visible after Tab')
  if (f.kind === 'map') {
    if (f.strokeWidth < 3) say(`stroke ${f.strokeWidth}px`)
    if (parseColor(f.stroke)[3] !== 1) say(`stroke ${f.stroke} not opaque`)
    const ratio = contrastRatio(f.stroke, f.fill)
    if (ratio < 3) say(`stroke ${f.stroke} on fill ${f.fill}: ${ratio.toFixed(2)}:1`)
    return problems
  }
  if (f.style !== 'solid') say(`outline-style ${f.style}`)
  if (f.width < 2) say(`outline ${f.width}px`)
  if (parseColor(f.color)[3] !== 1) say(`outline ${f.color} not opaque`)
  const ratio = contrastRatio(f.color, f.background)
  if (ratio < 3) say(`outline ${f.color} on ${f.background}: ${ratio.toFixed(2)}:1`)
  return problems
}
