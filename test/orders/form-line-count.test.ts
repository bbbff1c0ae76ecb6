import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { buildTestApp, customer, orderCount, type TestApp } from '../helpers/context.ts'

// The form's 20-product limit counts the products the form shows: fields naming other SKUs (an
// edited or old form) are no products the shopper chose.

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
  // 8 more products than the seed's, so that a form can show over 20.
  for (let i = 1; i <= 8; i++) {
    await sql`insert into products (sku, name, description, price_cents, image_path, stock)
              values (${`ZZ-0${i}`}, ${`Extra ${i}`}, 'x', 100, '/x.svg', 50)`.execute(t.app.db)
  }
  // The form's catalogue is cached for a second.
  await vi.waitFor(
    async () => {
      const page = await t.app.inject({ url: '/', headers: { accept: 'text/html' } })
      expect(page.body).toContain('name="qty-ZZ-08"')
    },
    { timeout: 10_000, interval: 200 },
  )
})
afterAll(() => t?.close())

const submit = (fields: Record<string, string>) =>
  t.app.inject({
    method: 'POST',
    url: '/orders',
    headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      ...customer,
      idempotencyKey: randomUUID(),
      ...fields,
    }).toString(),
  })

it('says how many products the form shows were chosen, past 20', async () => {
  const page = await t.app.inject({ url: '/', headers: { accept: 'text/html' } })
  const skus = [...page.body.matchAll(/name="qty-([A-Z0-9-]+)"/g)].map((m) => m[1] as string)
  expect(skus.length).toBeGreaterThan(20)
  const before = await orderCount(t.app.db)
  const all = await submit(Object.fromEntries(skus.map((s) => [`qty-${s}`, '1'])))
  expect(all.statusCode).toBe(400)
  expect(all.body).toContain(`An order can hold at most 20 products; you chose ${skus.length}.`)
  expect(await orderCount(t.app.db)).toBe(before)
})

it('counts no field that names a product the form does not show', async () => {
  const before = await orderCount(t.app.db)
  const unknown = (n: number) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`qty-X-${i}`, '1']))
  for (const fields of [unknown(21), { ...unknown(19), 'qty-MUG-001': '1', 'qty-TEE-002': '1' }]) {
    const res = await submit(fields)
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain('Choose a product from the list.')
    expect(res.body).not.toContain('you chose')
  }
  expect(await orderCount(t.app.db)).toBe(before)
})
