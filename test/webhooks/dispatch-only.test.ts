import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { testDatabase, usingPostgres } from '../helpers/context.ts'
import { waitFor } from '../helpers/insights.ts'
import { placeOrder } from '../helpers/lifecycle.ts'
import {
  insertEndpoint,
  insertEvents,
  type Receiver,
  startReceiver,
  webhookIdsOf,
} from '../helpers/webhook-receiver.ts'

// WEBHOOKS_DISPATCH=only: a process that delivers and serves only health and metrics; web
// instances run with WEBHOOKS_DISPATCH=off. On PostgreSQL both share one database, as deployed;
// the embedded database cannot be shared, so there (where the setting itself is refused: see
// test/config.test.ts) only the dispatching app's own behaviour is checked.
let database: Awaited<ReturnType<typeof testDatabase>>
let dispatching: App
let web: App | undefined
let receiver: Receiver

beforeAll(async () => {
  database = await testDatabase()
  receiver = await startReceiver()
  // The event-loop check off: on a loaded machine it answered an order its own 503 (seen once).
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    WEBHOOKS_ALLOW_LOCAL: 'true',
    MAX_EVENT_LOOP_DELAY_MS: '0',
  } as const
  const base = loadConfig({ ...env, ...database.env })
  dispatching = await buildApp({
    config: { ...base, WEBHOOKS_DISPATCH: 'only', WEBHOOKS_POLL_MS: 20 },
    webhookDispatcher: true,
  })
  await dispatching.ready()
  if (usingPostgres) {
    web = await buildApp({ config: { ...base, WEBHOOKS_DISPATCH: 'off' }, webhookDispatcher: true })
    await web.ready()
  }
})
afterAll(async () => {
  await web?.close()
  await dispatching?.close()
  await receiver?.close()
  await database?.drop()
})

describe('WEBHOOKS_DISPATCH=only', () => {
  it('serves /healthz, /readyz and /metrics, and nothing else', async () => {
    expect((await dispatching.inject('/healthz')).json()).toMatchObject({ status: 'ok' })
    expect((await dispatching.inject('/readyz')).json()).toMatchObject({ status: 'ready' })
    const metrics = await dispatching.inject('/metrics')
    expect(metrics.statusCode).toBe(200)
    expect(metrics.body).toMatch(/^webhook_deliveries_pending /m)
    for (const [method, url] of [
      ['GET', '/'],
      ['GET', '/api/products'],
      ['POST', '/api/orders'],
      ['POST', '/orders'],
      ['GET', '/admin/webhooks'],
      ['GET', '/api/admin/webhooks'],
      ['GET', '/docs'],
      ['GET', '/openapi.json'],
    ] as const) {
      expect((await dispatching.inject({ method, url })).statusCode, `${method} ${url}`).toBe(404)
    }
  })

  it('delivers what is in the outbox', async () => {
    const endpoint = await insertEndpoint(dispatching.db, receiver.url)
    const [eventId] = await insertEvents(dispatching.db, [{ type: 'order.placed', orderId: 1 }])
    const [sent] = await webhookIdsOf(dispatching.db, [eventId as string])
    await waitFor(async () => receiver.received.some((r) => r.id === sent))
    // Counted once its success is recorded, just after the answer.
    await waitFor(async () => dispatching.webhookDispatcher.stats.delivered >= 1)
    await dispatching.db
      .updateTable('webhook_endpoints')
      .set({ enabled: false })
      .where('id', '=', endpoint.id)
      .execute()
  })

  it.skipIf(!usingPostgres)(
    'delivers the orders a web instance with WEBHOOKS_DISPATCH=off takes, which delivers none',
    async () => {
      const app = web as App
      await insertEndpoint(app.db, receiver.url, ['order.placed'])
      const before = receiver.received.length
      const numbers: string[] = []
      for (let i = 0; i < 5; i++)
        numbers.push(await placeOrder(app, [{ sku: 'KNF-008', quantity: 1 }]))
      await waitFor(async () => receiver.received.length - before === 5)
      // Five orders, five deliveries in flight at once: in any order.
      const got = receiver.received.slice(before).map((r) => String(r.data.orderNumber))
      expect(got.sort()).toEqual(numbers.sort())
      await waitFor(async () => dispatching.webhookDispatcher.stats.delivered >= 6)
      expect(app.webhookDispatcher.stats).toMatchObject({ delivered: 0, fannedOut: 0 })
    },
  )
})
