import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { eventTypes } from '../../src/outbox/events.ts'
import { buildTestApp, stock, type TestApp } from '../helpers/context.ts'
import { lifecycleApi, placeOrder } from '../helpers/lifecycle.ts'
import { consumeEvents, outboxMark, outboxRows } from '../helpers/outbox.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

// The OpenAPI document describes every event (components and 3.1 `webhooks`), and what the
// outbox holds is what it describes.
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
  // A consumer for every event, so each order.placed is written with its payload.
  await consumeEvents(t.app.db)
})
afterAll(() => t?.close())

interface Doc {
  webhooks?: Record<string, { post: { requestBody: { content: Record<string, unknown> } } }>
  components: { schemas: Record<string, Record<string, unknown>> }
}

it('documents each event type as a webhook whose body is its envelope schema', async () => {
  const doc: Doc = (await t.app.inject({ url: '/openapi.json' })).json()
  expect(Object.keys(doc.webhooks ?? {}).sort()).toEqual([...eventTypes].sort())
  for (const type of eventTypes) {
    const body = doc.webhooks?.[type]?.post.requestBody.content['application/json'] as {
      schema: { $ref: string }
    }
    const name = body.schema.$ref.replace('#/components/schemas/', '')
    const schema = doc.components.schemas[name]
    expect(schema, type).toMatchObject({
      required: ['type', 'timestamp', 'data'],
      properties: { type: { enum: [type] }, timestamp: { format: 'date-time' } },
    })
  }
})

it('the events written to the outbox fit the documented schemas', async () => {
  const doc: Doc = (await t.app.inject({ url: '/openapi.json' })).json()
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats.default(ajv)
  const staff = lifecycleApi(t.app, await addToken(t.app, await addStaff(t.app, 'ann@example.com')))
  await stock(() => t.app.db).set('MUG-001', 2)
  const mark = await outboxMark(t.app.db)
  const number = await placeOrder(t.app, [{ sku: 'MUG-001', quantity: 2 }])
  for (const to of ['packed', 'shipped', 'delivered'] as const) await staff.move(number, to)
  const cancelled = await placeOrder(t.app, [{ sku: 'TEE-002', quantity: 1 }])
  await staff.move(cancelled, 'cancelled', { note: 'asked by the shopper' })

  const rows = await outboxRows(t.app.db, mark)
  expect(new Set(rows.map((r) => r.event_type))).toEqual(new Set(eventTypes))
  for (const row of rows) {
    const webhook = doc.webhooks?.[row.event_type]
    if (!webhook) throw new Error(`webhooks.${row.event_type} missing from /openapi.json`)
    const { $ref } = (
      webhook.post.requestBody.content['application/json'] as { schema: { $ref: string } }
    ).schema
    const schema = doc.components.schemas[$ref.replace('#/components/schemas/', '')] as object
    const envelope = {
      type: row.event_type,
      timestamp: row.created_at.toISOString(),
      data: row.payload,
    }
    const valid = ajv.validate(schema, envelope)
    expect(valid ? [] : ajv.errors, row.event_type).toEqual([])
  }
})
