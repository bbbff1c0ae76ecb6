import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventTypes } from '../../src/outbox/events.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { unionsOfLiterals } from '../helpers/schemas.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

// A value outside a fixed list (an event type, a role) is refused with one sentence that lists
// the values allowed, not Ajv's "must be equal to constant; … must match a schema in anyOf".
let t: TestApp
let auth: { authorization: string }
let clerk: number
beforeAll(async () => {
  t = await buildTestApp({ WEBHOOKS_ALLOW_LOCAL: 'true' }, { webhookDispatcher: false })
  const admin = await addStaff(t.app, 'lists@example.com', 'admin')
  clerk = await addStaff(t.app, 'clerk-lists@example.com', 'staff')
  auth = { authorization: `Bearer ${await addToken(t.app, admin)}` }
})
afterAll(() => t?.close())

describe('a value outside its list', () => {
  it('names the field and the values it may take, once', async () => {
    const webhook = await t.app.inject({
      method: 'POST',
      url: '/api/admin/webhooks',
      headers: auth,
      payload: { url: 'http://127.0.0.1:9/in', eventTypes: ['order.lost'] },
    })
    expect(webhook.statusCode).toBe(400)
    expect(webhook.json().message).toBe(`eventTypes[0] must be one of: ${eventTypes.join(', ')}`)

    const role = await t.app.inject({
      method: 'PATCH',
      url: `/api/admin/staff/${clerk}`,
      headers: auth,
      payload: { role: 'boss' },
    })
    expect(role.statusCode).toBe(400)
    expect(role.json().message).toBe('role must be one of: staff, admin')
  })

  it('is an enum in every schema of the API, never a union of literals', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json()
    expect(unionsOfLiterals(doc.paths)).toEqual([])
  })
})
