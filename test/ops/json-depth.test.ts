import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { unstorableStrings } from '../../src/input-guards.ts'
import { maxJsonDepth } from '../../src/plugins/json-keys.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { concrete, registeredRoutes } from '../helpers/routes.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

// docs/api.md, "Bodies": a JSON body nested deeper than the service reads is one 400 on every route
// that parses JSON, said where bodies are parsed, never a stack overflow (a 500) in whatever
// walks the parsed value later (the back office's check for unstorable strings did).
let t: TestApp
let auth: Record<string, string>
beforeAll(async () => {
  t = await buildTestApp(
    { WEBHOOKS_ALLOW_LOCAL: 'true', MAX_EVENT_LOOP_DELAY_MS: '0' },
    { webhookDispatcher: false },
  )
  const id = await addStaff(t.app, 'depth@example.com', 'admin')
  auth = { authorization: `Bearer ${await addToken(t.app, id)}` }
})
afterAll(() => t?.close())

const objects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
const arrays = (depth: number) => `{"units":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`
const tooDeep = /nested too deeply/

async function send(method: string, url: string, payload: string) {
  return t.app.inject({
    method: method as 'POST',
    url,
    headers: { ...auth, 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
    payload,
  })
}

describe('a JSON body nested too deeply', () => {
  it('is 400 saying so on every /api route that reads a body, objects or arrays', async () => {
    const routes = registeredRoutes(t.app).filter(
      (r) => r.url.startsWith('/api/') && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method),
    )
    expect(routes.map((r) => `${r.method} ${r.url}`)).toContain(
      'POST /api/admin/products/:sku/restock',
    )
    for (const { method, url } of routes) {
      for (const payload of [objects(3000), arrays(2500), objects(maxJsonDepth + 1)]) {
        const res = await send(method, concrete(url), payload)
        expect(res.statusCode, `${method} ${url}: ${res.body.slice(0, 200)}`).toBe(400)
        expect(res.json().message).toMatch(tooDeep)
      }
    }
  })

  it('names the limit, on the routes the review found 500s on', async () => {
    const res = await send('POST', '/api/admin/products/MUG-001/restock', arrays(2500))
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toBe(
      `The body is nested too deeply: this service reads JSON objects and arrays at most ${maxJsonDepth} levels deep.`,
    )
    for (const url of ['/api/admin/webhooks', '/api/admin/staff', '/api/orders']) {
      expect((await send('POST', url, objects(3000))).json().message).toMatch(tooDeep)
    }
  })

  it('counts brackets inside strings as text, and a body at the limit is read', async () => {
    const deepText = JSON.stringify({ units: '['.repeat(5000) })
    const res = await send('POST', '/api/admin/products/MUG-001/restock', deepText)
    expect(res.statusCode).toBe(400)
    expect(res.json().message).not.toMatch(tooDeep)
    const atLimit = await send('POST', '/api/admin/staff', objects(maxJsonDepth))
    expect(atLimit.statusCode).toBe(400)
    expect(atLimit.json().message).not.toMatch(tooDeep)
  })

  it('is refused before a prototype-key check walks it (the reviver recurses)', async () => {
    const small = await send(
      'POST',
      '/api/orders',
      `${'{"\\u0061":'.repeat(5000)}1${'}'.repeat(5000)}`,
    )
    expect(small.statusCode).toBe(400)
    expect(small.json().message).toMatch(tooDeep)
  })
})

describe('the walk for unstorable strings', () => {
  it('takes a value of any depth without recursing', () => {
    let value: unknown = 'ok\u0000'
    for (let i = 0; i < 100_000; i++) value = [value]
    const errors = unstorableStrings({ a: value })
    expect(errors).toHaveLength(1)
    expect(errors[0]?.instancePath).toBe(`/a${'/0'.repeat(100_000)}`)
  })
})
