import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formLimits } from '../../src/orders/form-values.ts'
import { listAllProducts } from '../../src/products/queries.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'

// docs/tricks.md, "the blank order form spliced around its key": GET / sends a page rendered
// once a second with a placeholder key, cut at the placeholder, and joined around a fresh key.
// That holds while the template writes the key exactly once, as it was given (no escaping
// that changes a UUID, no second copy), and the rest of the page does not depend on it. The
// page served must be, byte for byte, the page the template renders for that key.
// Compressed (docs/tricks.md, "the compressed form"), the part before the key is compressed once
// and the key and the rest appended uncompressed: decoded, it must be that same page.

const keyOf = (html: string) => /name="idempotencyKey" value="([^"]+)"/.exec(html)?.[1]

describe('the blank order form spliced around its key', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp()
  })
  afterAll(async () => {
    await t?.close()
  })

  const render = async (key: string) =>
    t.app.view('order-form.eta', {
      products: await listAllProducts(t.app.db),
      values: {},
      errors: {},
      idempotencyKey: key,
      limits: formLimits,
    })

  it.each([
    ['brotli', 'gzip, deflate, br, zstd', 'br', brotliDecompressSync],
    ['gzip', 'gzip', 'gzip', gunzipSync],
    ['gzip, brotli less wanted', 'br;q=0.5, gzip', 'gzip', gunzipSync],
  ] as const)(
    'compressed (%s), decodes to the page the template renders for its key',
    async (_name, accept, encoding, decode) => {
      const keys = new Set<string>()
      for (let i = 0; i < 3; i++) {
        const res = await t.app.inject({ url: '/', headers: { 'accept-encoding': accept } })
        expect(res.statusCode).toBe(200)
        expect(res.headers['content-encoding']).toBe(encoding)
        expect(res.headers.vary).toMatch(/accept-encoding/i)
        expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length)
        const html = decode(res.rawPayload).toString()
        const key = keyOf(html) as string
        expect(key).toMatch(/^[0-9a-f-]{36}$/)
        keys.add(key)
        expect(html).toBe(await render(key))
        // Compressed for real: the page before the key, about nine tenths of it, to a fifth or less.
        expect(res.rawPayload.length).toBeLessThan(html.length / 4)
      }
      expect(keys.size).toBe(3)
    },
  )

  it('is the page the template renders for that key, with a fresh key each time', async () => {
    const keys = new Set<string>()
    for (let i = 0; i < 3; i++) {
      const res = await t.app.inject({ url: '/' })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(res.headers['content-encoding']).toBeUndefined()
      const key = keyOf(res.body)
      expect(key).toMatch(/^[0-9a-f-]{36}$/)
      keys.add(key as string)
      const rendered = await t.app.view('order-form.eta', {
        products: await listAllProducts(t.app.db),
        values: {},
        errors: {},
        idempotencyKey: key,
        limits: formLimits,
      })
      expect(res.body).toBe(rendered)
      expect(res.body.split(key as string)).toHaveLength(2)
    }
    expect(keys.size).toBe(3)
  })
})
