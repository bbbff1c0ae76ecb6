// The bench's form orders must be what a browser posts from GET /, field for field: a bench that
// leaves a field out (the hidden price-<SKU> ones, say) measures a cheaper order than shoppers
// place. Held here to the page the service renders, on a database seeded as the bench's are.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { formArgs, formBody, prices, skus, states } from './flows.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t?.close())

/** The fields a browser sends from `html`'s form, in page order: named inputs and selects not disabled. */
function browserFields(html: string): { name: string; value: string | undefined }[] {
  const tags = html.slice(html.indexOf('<form'), html.indexOf('</form>'))
  return [...tags.matchAll(/<(input|select)\b([^>]*)>/g)]
    .map((m) => m[2] ?? '')
    .filter((attrs) => !/\sdisabled\b/.test(attrs))
    .flatMap((attrs) => {
      const name = /\sname="([^"]*)"/.exec(attrs)?.[1]
      return name ? [{ name, value: /\svalue="([^"]*)"/.exec(attrs)?.[1] }] : []
    })
}

describe("the bench's order form (formBody, form.lua's arguments)", () => {
  it("posts GET /'s fields in its order, each price-<SKU> as the page shows it", async () => {
    const page = await t.app.inject({ method: 'GET', url: '/' })
    const shown = browserFields(page.body)
    const key = randomUUID()
    const body = new URLSearchParams(formBody(key, [skus[0] as string]))
    expect([...body.keys()]).toEqual(shown.map((f) => f.name))
    const pagePrices = shown.filter((f) => f.name.startsWith('price-'))
    expect(pagePrices).toHaveLength(skus.length)
    for (const { name, value } of pagePrices) expect(body.get(name)).toBe(value)
    // The chosen product's quantity 1; every other one as the page leaves it (empty).
    for (const { name, value } of shown.filter((f) => f.name.startsWith('qty-'))) {
      expect(body.get(name)).toBe(name === `qty-${skus[0]}` ? '1' : value)
    }
    // form.lua writes the same: an empty quantity for each product not chosen.
    expect(readFileSync('test/bench/wrk/form.lua', 'utf8')).toContain(
      `(chosen[sku] and "1" or "${shown.find((f) => f.name === `qty-${skus[1]}`)?.value}")`,
    )
    // form.lua gets the same SKUs, in the same order, and the same prices.
    const [skuList, , priceList] = formArgs()
    expect(skuList?.split(',').map((sku) => `qty-${sku}`)).toEqual(
      shown.filter((f) => f.name.startsWith('qty-')).map((f) => f.name),
    )
    expect(priceList).toBe(pagePrices.map((f) => `${f.name.slice(6)}=${f.value}`).join(','))
    expect(formArgs(true)).toEqual([skuList, states.join(','), 'one', priceList])
  })

  it('places its order (303) at the catalogue prices it sent', async () => {
    const chosen = skus.slice(0, 2)
    const res = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: formBody(randomUUID(), chosen),
    })
    expect(res.statusCode).toBe(303)
    const order = (await t.app.inject({ url: `/api${res.headers.location}` })).json()
    expect(
      Object.fromEntries(
        order.items.map((i: { sku: string; unitPriceCents: number }) => [
          i.sku,
          String(i.unitPriceCents),
        ]),
      ),
    ).toEqual(Object.fromEntries(chosen.map((sku) => [sku, prices[sku]])))
  })
})
