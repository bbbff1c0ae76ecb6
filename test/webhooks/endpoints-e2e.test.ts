import { randomUUID } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { waitFor } from '../helpers/insights.ts'
import { addStaff, addToken } from '../helpers/staff.ts'
import { type Receiver, startReceiver } from '../helpers/webhook-receiver.ts'
import { thirtySecondsOn } from './endpoint-helpers.ts'

/**
 * An endpoint registered through the API, with the dispatcher running and a real receiver on
 * 127.0.0.1: the secret the create answer gave is the one deliveries are signed with; a
 * redelivery sends the same event again (same webhook-id); after a rotation, with the new secret
 * (and the replaced one, during the overlap: secret-overlap.test.ts).
 */
let t: TestApp
let receiver: Receiver
let admin: Record<string, string>

beforeAll(async () => {
  t = await buildTestApp(
    { WEBHOOKS_ALLOW_LOCAL: 'true', WEBHOOKS_POLL_MS: '20' },
    { webhookDispatcher: { retry: { baseMs: 100, capMs: 400 }, timeoutMs: 1000, leaseMs: 3000 } },
  )
  receiver = await startReceiver()
  admin = {
    authorization: `Bearer ${await addToken(t.app, await addStaff(t.app, 'boss@example.com', 'admin'))}`,
  }
})
afterAll(async () => {
  await receiver?.close()
  await t?.close()
})

const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
  t.app.inject({ method, url, payload, headers: admin })

/** Whether the request carries a valid Standard Webhooks signature made with `secret`. */
function signedWith(secret: string, r: Receiver['received'][number]): boolean {
  try {
    new Webhook(secret).verify(r.body, {
      'webhook-id': r.id,
      'webhook-timestamp': r.timestamp,
      'webhook-signature': r.signature,
    })
    return true
  } catch {
    return false
  }
}

describe('a registered endpoint, delivered to', () => {
  it('signs with the secret shown once, redelivers the same event, and signs with a rotated secret', async () => {
    const created = await call('POST', '/api/admin/webhooks', {
      url: receiver.url,
      eventTypes: ['order.placed'],
    })
    expect(created.statusCode, created.body).toBe(201)
    const { id, secret } = created.json()

    const placed = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer },
    })
    expect(placed.statusCode, placed.body).toBe(201)
    const orderNumber = placed.json().orderNumber

    await waitFor(async () => receiver.received.length === 1)
    const first = receiver.received[0] as Receiver['received'][number]
    expect(first.type).toBe('order.placed')
    expect(first.data.orderNumber).toBe(orderNumber)
    expect(signedWith(secret, first)).toBe(true)

    let deliveries = (await call('GET', `/api/admin/webhooks/${id}/deliveries`)).json()
    await waitFor(async () => {
      deliveries = (await call('GET', `/api/admin/webhooks/${id}/deliveries`)).json()
      return deliveries[0]?.status === 'delivered'
    })
    expect(deliveries).toHaveLength(1)
    expect(deliveries[0]).toMatchObject({
      eventType: 'order.placed',
      orderNumber,
      status: 'delivered',
      attempts: 1,
      lastResponseStatus: 200,
    })

    await thirtySecondsOn(t.app.db, deliveries[0].id)
    const again = await call(
      'POST',
      `/api/admin/webhooks/${id}/deliveries/${deliveries[0].id}/redeliver`,
    )
    expect(again.statusCode, again.body).toBe(200)
    await waitFor(async () => receiver.received.length === 2)
    const second = receiver.received[1] as Receiver['received'][number]
    expect(second.id).toBe(first.id) // the receiver can drop it as a duplicate
    expect(signedWith(secret, second)).toBe(true)

    const rotated = (await call('POST', `/api/admin/webhooks/${id}/rotate-secret`)).json()
    await waitFor(async () => {
      const d = (await call('GET', `/api/admin/webhooks/${id}/deliveries`)).json()
      return d[0]?.status === 'delivered'
    })
    await thirtySecondsOn(t.app.db, deliveries[0].id)
    const thrice = await call(
      'POST',
      `/api/admin/webhooks/${id}/deliveries/${deliveries[0].id}/redeliver`,
    )
    expect(thrice.statusCode, thrice.body).toBe(200)
    await waitFor(async () => receiver.received.length === 3)
    const third = receiver.received[2] as Receiver['received'][number]
    expect(signedWith(rotated.secret, third)).toBe(true)
    // Within the rotation's overlap window the replaced secret signs too, after the new one.
    expect(rotated.previousSecretUntil).not.toBeNull()
    expect(third.signature.split(' ')).toHaveLength(2)
    expect(signedWith(secret, third)).toBe(true)
    await waitFor(async () => {
      const d = (await call('GET', `/api/admin/webhooks/${id}/deliveries`)).json()
      return d[0]?.status === 'delivered' && d[0]?.attempts === 3
    })
    const last = (await call('GET', `/api/admin/webhooks/${id}/deliveries`)).json()[0]
    expect(last.id).toBe(deliveries[0].id)
  })
})
