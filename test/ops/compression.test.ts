import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compressible, KeyedPage } from '../../src/plugins/compression.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { placeOrder } from '../helpers/lifecycle.ts'
import { addStaff, signIn } from '../helpers/staff.ts'

/** Answers of text types over 1 KiB are compressed as Accept-Encoding asks; streams stay streams. */
let t: TestApp
let base: string
let orderNumber: string
let cookie: string
beforeAll(async () => {
  t = await buildTestApp()
  orderNumber = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 1 }])
  for (let i = 0; i < 30; i++) await placeOrder(t.app, [{ sku: 'TEE-002', quantity: 1 }])
  await addStaff(t.app, 'zip-staff@example.com', 'staff')
  cookie = (await signIn(t.app, 'zip-staff@example.com')).cookie
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
})
afterAll(() => t?.close())

interface Raw {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

/** A request over HTTP with the bytes as sent (fetch would decode them). */
function raw(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { headers, method }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

const decode = (r: Raw) =>
  r.headers['content-encoding'] === 'br'
    ? brotliDecompressSync(r.body)
    : r.headers['content-encoding'] === 'gzip'
      ? gunzipSync(r.body)
      : r.body

describe('compression', () => {
  it.each([
    ['the order form (HTML)', '/', { accept: 'text/html' }],
    ['a confirmation page (HTML)', () => `/orders/${orderNumber}`, { accept: 'text/html' }],
    ['the OpenAPI document (JSON)', '/openapi.json', {}],
    ['the US map (HTML with inline SVG)', '/insights', { accept: 'text/html' }],
    ['the style sheet (CSS)', '/public/css/site.css', {}],
  ])('%s: brotli or gzip as asked, the same bytes decoded', async (_name, path, headers) => {
    const url = typeof path === 'function' ? path() : path
    const plain = await raw(url, headers)
    expect(plain.status).toBe(200)
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.body.length).toBeGreaterThan(1024)
    // Sent plain to this client, compressed to others: a shared cache must know (RFC 9110 §12.5.5).
    expect(plain.headers.vary, url).toMatch(/accept-encoding/i)
    for (const [accept, encoding] of [
      ['gzip, deflate, br', 'br'],
      ['gzip', 'gzip'],
      ['br;q=0.5, gzip', 'gzip'],
    ] as const) {
      const packed = await raw(url, { ...headers, 'accept-encoding': accept })
      expect(packed.headers['content-encoding'], `${url} ${accept}`).toBe(encoding)
      expect(packed.headers.vary).toMatch(/accept-encoding/i)
      expect(packed.body.length).toBeLessThan(plain.body.length / 2)
      // The order form carries a fresh key each time: compare all but the key.
      const key = /name="idempotencyKey" value="[^"]*"/g
      expect(decode(packed).toString().replace(key, '')).toBe(
        plain.body.toString().replace(key, ''),
      )
    }
  })

  // RFC 9110 §9.3.2: HEAD answers the header fields GET would. HEAD /orders/:n said 2782 bytes,
  // uncompressed and without Vary, where GET sent 1142 gzipped (compression.ts, compressHeadLikeGet).
  it.each([
    ['a confirmation page', () => `/orders/${orderNumber}`, { accept: 'text/html' }],
    // /api/insights/TX is the same kind of route, but under 1 KiB here (no sales folded).
    ['the insights (JSON)', () => '/api/insights', {}],
    ["a state's insights page", () => '/insights/TX', { accept: 'text/html' }],
    ['the order form (compressed beforehand)', () => '/', { accept: 'text/html' }],
  ])('%s: HEAD sends the headers GET does, compressed or not', async (_name, path, headers) => {
    const url = path()
    for (const accept of [undefined, 'gzip', 'br', 'gzip, deflate, br']) {
      const asked = accept ? { ...headers, 'accept-encoding': accept } : headers
      const [get, head] = [await raw(url, asked), await raw(url, asked, 'HEAD')]
      expect(head.status).toBe(200)
      expect(head.body.length).toBe(0)
      for (const name of ['content-type', 'content-encoding', 'vary', 'content-length']) {
        expect(head.headers[name], `${url} ${accept} ${name}`).toBe(get.headers[name])
      }
      expect(get.headers.vary, `${url} ${accept}`).toMatch(/accept-encoding/i)
    }
  })

  it('picks the types by name: SVG and CSV yes, compressed images and event streams no', () => {
    for (const type of ['image/svg+xml', 'text/csv; charset=utf-8', 'application/problem+json']) {
      expect(compressible.test(type), type).toBe(true)
    }
    for (const type of ['image/png', 'image/jpeg', 'image/webp', 'text/event-stream']) {
      expect(compressible.test(type), type).toBe(false)
    }
  })

  it('leaves small answers alone', async () => {
    const res = await raw(`/api/orders/${orderNumber}`, { 'accept-encoding': 'br, gzip' })
    expect(res.status).toBe(200)
    expect(res.body.length).toBeLessThan(1024)
    expect(res.headers['content-encoding']).toBeUndefined()
    // Never compressed for anyone: it does not vary on Accept-Encoding.
    expect(String(res.headers.vary ?? '')).not.toMatch(/accept-encoding/i)
  })

  it('says Vary: Accept-Encoding on a CSV stream sent plain', async () => {
    const plain = await raw('/admin/orders.csv', { cookie })
    expect(plain.headers.vary).toMatch(/accept-encoding/i)
  })

  // The one-call path (syncThreshold): a rendered page is compressed in one synchronous call and
  // sent whole with its length, in one write, not piped through a compressing stream on the
  // thread pool in chunks (docs/benchmarks.md, "Compression: what holds the confirmation page").
  it('sends a compressed page whole: Content-Length of the compressed bytes, not chunked', async () => {
    const url = `/orders/${orderNumber}`
    const plain = await raw(url, { accept: 'text/html' })
    for (const encoding of ['br', 'gzip']) {
      const packed = await raw(url, { accept: 'text/html', 'accept-encoding': encoding })
      expect(packed.headers['content-encoding']).toBe(encoding)
      expect(packed.headers['transfer-encoding'], encoding).toBeUndefined()
      expect(packed.headers['content-length'], encoding).toBe(String(packed.body.length))
      expect(decode(packed).toString()).toBe(plain.body.toString())
    }
  })

  it('streams the CSV compressed: chunked, no Content-Length, the same rows decoded', async () => {
    const plain = await raw('/admin/orders.csv', { cookie })
    const packed = await raw('/admin/orders.csv', { cookie, 'accept-encoding': 'gzip' })
    expect(packed.status).toBe(200)
    expect(packed.headers['content-encoding']).toBe('gzip')
    expect(packed.headers['transfer-encoding']).toBe('chunked')
    expect(packed.headers['content-length']).toBeUndefined()
    expect(plain.body.toString().split('\r\n').length).toBeGreaterThan(30)
    expect(decode(packed).toString()).toBe(plain.body.toString())
  })

  it('sends nothing compressed with COMPRESSION=off (a front end compresses), whatever is asked', async () => {
    const off = await buildTestApp({ COMPRESSION: 'off' })
    try {
      for (const url of ['/', '/insights', '/openapi.json']) {
        const res = await off.app.inject({ url, headers: { 'accept-encoding': 'br, gzip' } })
        expect(res.statusCode, url).toBe(200)
        expect(res.headers['content-encoding'], url).toBeUndefined()
        expect(res.rawPayload.length, url).toBeGreaterThan(1024)
      }
    } finally {
      await off.close()
    }
  })
})

describe('KeyedPage: a page compressed once around one changing string', () => {
  // Heads over the 64 KiB brotli window and the 32 KiB deflate one, UTF-8 text, random bytes
  // (stored by the compressor), an empty tail and key, a key of the most allowed (1 KiB).
  const text = (n: number) =>
    Array.from(
      { length: n },
      (_, i) => `<li data-i="${i}">Caf\u00e9 n\u00ba ${i % 97} \u2713</li>`,
    ).join('\n')
  it.each([
    ['a small page', text(20), '">\n</form></html>\n', 'a0b1c2d3-0000-4000-8000-123456789abc'],
    ['a page past both windows', text(3000), text(50), 'key'],
    ['random bytes as Latin-1', randomBytes(40_000).toString('latin1'), 'é', 'x'.repeat(1024)],
    ['an empty tail and key', text(5), '', ''],
  ])('%s: decodes to head + key + tail in each coding', (_name, head, tail, key) => {
    const page = new KeyedPage(head, tail)
    const whole = Buffer.from(head + key + tail)
    expect(page.bytes(undefined, key).equals(whole)).toBe(true)
    expect(gunzipSync(page.bytes('gzip', key)).equals(whole)).toBe(true)
    expect(brotliDecompressSync(page.bytes('br', key)).equals(whole)).toBe(true)
  })

  it('refuses a key over 1 KiB and a tail over 16 KiB (they would go uncompressed)', () => {
    expect(() => new KeyedPage('a', 'b').bytes('gzip', 'k'.repeat(1025))).toThrow(RangeError)
    expect(() => new KeyedPage('a', 'b'.repeat(16 * 1024 + 1))).toThrow(RangeError)
  })
})
