import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formLimits } from '../../src/orders/form-values.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'

// docs/tricks.md, "Eta: resolved paths kept": outside development src/plugins/views.ts replaces
// an Eta instance's resolvePath with one that remembers each answer by (template, calling
// template's filepath). That holds while Eta looks the path up through `this.resolvePath` on
// every render (so the instance's own function is the one called), passes the caller's path in
// `options.filepath`, and the answer depends on nothing else. The first test watches Eta do
// exactly that; the second renders the same pages with and without the kept paths.

const views = fileURLToPath(new URL('../../views', import.meta.url))

const formData = {
  formatCents: (c: number) => `$${c}`,
  usStates: [{ code: 'TX', name: 'Texas' }],
  products: [],
  values: { name: '<Ada>' },
  errors: { email: 'E-mail is required.' },
  idempotencyKey: 'key-1',
  limits: formLimits,
}

describe("Eta's resolved paths kept", () => {
  it('Eta resolves the page and its layout through this.resolvePath on every render', () => {
    const eta = new Eta({ views, cache: true, autoEscape: true })
    const resolve = eta.resolvePath
    expect(resolve).toBeTypeOf('function')
    const calls: { template: string; from: string | undefined; path: string }[] = []
    eta.resolvePath = function (template, options) {
      const path = (resolve as NonNullable<typeof resolve>).call(this, template, options)
      calls.push({ template, from: options?.filepath, path })
      return path
    }
    const first = eta.render('order-form.eta', formData)
    const perRender = calls.length
    const second = eta.render('order-form.eta', formData)
    expect(second).toBe(first)
    // The page and the layout it names, resolved again on the second render: the saving is real.
    expect(perRender).toBeGreaterThanOrEqual(2)
    expect(calls).toHaveLength(2 * perRender)
    expect(calls.slice(perRender)).toEqual(calls.slice(0, perRender))
    expect(calls[0]).toMatchObject({ template: 'order-form.eta', from: undefined })
    expect(calls[1]).toMatchObject({ template: './layout', from: calls[0]?.path })
    expect(calls[1]?.path).toBe(`${views}/layout.eta`)
  })

  describe('the service renders the same pages with the kept paths as without', () => {
    let kept: TestApp
    let plain: TestApp
    beforeAll(async () => {
      kept = await buildTestApp({ NODE_ENV: 'production' })
      plain = await buildTestApp({ NODE_ENV: 'development' })
    })
    afterAll(async () => {
      await kept?.close()
      await plain?.close()
    })

    const pages: [string, Record<string, unknown>][] = [
      ['order-form.eta', formData],
      [
        'error.eta',
        {
          title: 'Not found',
          statusCode: 404,
          message: 'No <such> page.',
          back: { href: '/admin/orders', label: 'Back to the orders' },
        },
      ],
      ['order-form.eta', { ...formData, values: {}, errors: {}, idempotencyKey: 'key-2' }],
    ]

    it('page after page, each twice', async () => {
      for (const round of [1, 2]) {
        for (const [page, data] of pages) {
          const expected = await plain.app.view(page, data)
          expect(await kept.app.view(page, data), `${page} round ${round}`).toBe(expected)
        }
      }
    })
  })
})
