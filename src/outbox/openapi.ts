import { type EventType, eventEnvelopes, eventTypes } from './events.ts'

/** `order.placed` -> `OrderPlacedEvent`: the event's name among the document's schemas. */
const componentName = (type: EventType) =>
  `${type
    .split(/[._]/)
    .map((w) => w[0]?.toUpperCase() + w.slice(1))
    .join('')}Event`

/** The headers of every delivery, per the Standard Webhooks specification. */
const deliveryHeaders = [
  [
    'webhook-id',
    'The message id, `evt_` + a random UUID: the same on every retry of the event and for every endpoint, so a receiver can drop duplicates, and unique across databases and restores, so it drops nothing else.',
  ],
  ['webhook-timestamp', 'Unix seconds when this attempt was signed.'],
  [
    'webhook-signature',
    '`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the endpoint secret. For a while after the secret is rotated (the endpoint\'s `previousSecretUntil`), a space and a second such signature made with the replaced secret follow: accept the request when any signature verifies.',
  ],
].map(([name, description]) => ({
  name,
  in: 'header',
  required: true,
  description,
  schema: { type: 'string' },
}))

/**
 * The events as the OpenAPI document shows them (src/plugins/openapi.ts takes both): each
 * envelope `{type, timestamp, data}` as a component schema, and an OpenAPI 3.1 `webhooks`
 * entry per event type: the POST a subscribed endpoint receives.
 */
export const eventDocs = {
  schemas: Object.fromEntries(eventTypes.map((t) => [componentName(t), eventEnvelopes[t]])),
  webhooks: Object.fromEntries(
    eventTypes.map((t) => [
      t,
      {
        post: {
          summary: `The ${t} event`,
          tags: ['events'],
          parameters: deliveryHeaders,
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: `#/components/schemas/${componentName(t)}` } },
            },
          },
          responses: { '2XX': { description: 'Received; any other answer is retried.' } },
        },
      },
    ]),
  ),
}
