import { type Static, Type } from 'typebox'
import { CursorParameter, cursorRule } from '../admin/page-query.ts'
import { IdParam } from '../ids.ts'
import { eventTypes } from '../outbox/events.ts'
import { Text } from '../text.ts'
import { StringEnum } from '../validation.ts'

/** One of the event types (src/outbox/events.ts), as the API takes and gives it. */
export const EventType = StringEnum(eventTypes, {
  description: 'an event type',
  examples: ['order.placed'],
})

/** A webhook URL as typed; the policy (url-policy.ts) is checked by the route, with reasons. */
export const WebhookUrl = Type.String({
  minLength: 1,
  maxLength: 2048,
  description:
    'where events are POSTed: https, no user name or password, a host whose every address is public (WEBHOOKS_ALLOW_LOCAL=true also allows http and local addresses)',
  examples: ['https://hooks.example.com/orders'],
})

export const maxDescription = 500
/** Free text (src/text.ts: trimmed, NFC, no hidden characters); empty for none. */
const Description = Text(maxDescription, 'a description', {
  allowBlank: true,
  description: 'a note for people: what receives these events',
  examples: ['Warehouse picking system'],
})

const WantedEvents = Type.Array(EventType, {
  minItems: 1,
  maxItems: eventTypes.length,
  uniqueItems: true,
  description: 'the event types this endpoint receives: at least one, each once',
})

const time = (description: string) => Type.String({ format: 'date-time', description })
const maybeTime = (description: string) =>
  Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description })

/** `POST /api/admin/webhooks` */
export const EndpointCreate = Type.Object(
  {
    url: WebhookUrl,
    description: Type.Optional(Description),
    eventTypes: WantedEvents,
    enabled: Type.Optional(
      Type.Boolean({ description: 'false: registered but sent nothing yet; default true' }),
    ),
  },
  { additionalProperties: false },
)
export type EndpointCreate = Static<typeof EndpointCreate>

/** `PATCH /api/admin/webhooks/:id`: any of the fields; `enabled: true` clears a disabled reason. */
export const EndpointPatch = Type.Object(
  {
    url: Type.Optional(WebhookUrl),
    description: Type.Optional(Description),
    eventTypes: Type.Optional(WantedEvents),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export type EndpointPatch = Static<typeof EndpointPatch>

/** An endpoint as the API shows it: never its secret (see EndpointWithSecret). */
export const Endpoint = Type.Object({
  id: Type.Integer({ examples: [1] }),
  url: Type.String({ examples: ['https://hooks.example.com/orders'] }),
  description: Type.String(),
  eventTypes: Type.Array(EventType),
  enabled: Type.Boolean(),
  disabledReason: Type.Union([Type.String(), Type.Null()], {
    description:
      'why the dispatcher disabled it, in words and without a time ("every delivery failed for 3 days, with no 2xx; re-enable it once it answers"): since when is `failingSince`; null when an admin disabled it or it is enabled',
  }),
  failingSince: maybeTime(
    'start of the current run of failed attempts, kept while the dispatcher has it disabled; null after any 2xx, and once an admin enables it',
  ),
  createdAt: time('when it was registered'),
  updatedAt: time('when it was last changed'),
  previousSecretUntil: maybeTime(
    'until when the secret the latest rotation replaced still signs deliveries, after the current one (a second `v1,` signature in `webhook-signature`); null when no previous secret is in use. The previous secret itself is never shown',
  ),
})
export type Endpoint = Static<typeof Endpoint>

/** The create and rotate answers: the only ones that carry the secret. */
export const EndpointWithSecret = Type.Object({
  ...Endpoint.properties,
  secret: Type.String({
    pattern: '^whsec_[A-Za-z0-9+/]+={0,2}$',
    description:
      'the Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes. Shown in this answer only: store it now.',
    examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw8bYvYQKO5Gc='],
  }),
})
export type EndpointWithSecret = Static<typeof EndpointWithSecret>

/** One delivery of one event to one endpoint, as the endpoint's page and API show it. */
export const Delivery = Type.Object({
  id: Type.String({ pattern: '^[0-9]+$', examples: ['42'] }),
  eventId: Type.String({
    pattern: '^[0-9]+$',
    description:
      "the event's number in this database, which orders an order's events; another database numbers its own events from 1 too, so it is not what receivers see (webhookId is)",
  }),
  webhookId: Type.Union(
    [Type.String({ pattern: '^evt_[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$' }), Type.Null()],
    {
      description:
        "the `webhook-id` header of this delivery's requests: `evt_` + a random UUID, the same on every attempt and for every endpoint of the event, and unique across databases and restores; null only when its outbox row was deleted by hand: the service never deletes events, so every delivery it made has one",
      examples: ['evt_3f2c8a9e-5b1d-4c6f-9a0e-7d4b2e1f8c35'],
    },
  ),
  eventType: Type.String({ examples: ['order.placed'] }),
  orderNumber: Type.Union([Type.String(), Type.Null()], { description: 'null for product events' }),
  status: StringEnum(['pending', 'delivered', 'failed']),
  attempts: Type.Integer({ description: 'attempts made so far' }),
  nextAttemptAt: maybeTime(
    "when a pending delivery is tried next: after the backoff, or after the wait a 429's or 503's `Retry-After` asked for when that is later; null once delivered or failed",
  ),
  lastAttemptAt: maybeTime('the latest attempt; null before the first'),
  lastResponseStatus: Type.Union([Type.Integer(), Type.Null()], {
    description: "the latest attempt's HTTP status; null when it got no answer",
  }),
  lastError: Type.Union([Type.String(), Type.Null()], {
    description:
      'why the latest attempt failed (`answered 503, Retry-After 120 s: …`, with up to 200 characters of the answer); null before any failure and once delivered',
  }),
  deliveredAt: maybeTime(
    'when its latest 2xx came; null while none has; kept when it is sent again (redeliver), so a pending or failed delivery with a deliveredAt was delivered before, at that time',
  ),
  createdAt: time('when the delivery was made from its event'),
  waitsFor: Type.Union([Type.String({ pattern: '^[0-9]+$' }), Type.Null()], {
    description:
      "while pending: the delivery of an earlier event of the same order to this endpoint that is still pending (the earliest, when several), which this one waits for, however due it is: an order's events reach an endpoint in the order they happened; null when it waits for none",
    examples: ['41'],
  }),
})
export type Delivery = Static<typeof Delivery>

/** A page of an endpoint's deliveries (a plain list), and the header that leads to the next. */
export const DeliveriesPage = (maxItems: number) => ({
  ...Type.Array(Delivery, { maxItems }),
  headers: {
    link: {
      type: 'string',
      description:
        'Only while older deliveries remain: `</api/admin/webhooks/{id}/deliveries?…&cursor=…>; rel="next"` (RFC 8288), the next page, `limit` kept',
    },
  },
})

/** `:id` of an endpoint: digits (path parameters are strings; no coercion in this service). */
export const EndpointParams = Type.Object({
  id: IdParam({ what: 'webhook endpoint', column: 'int4' }),
})
export const DeliveryParams = Type.Object({
  id: EndpointParams.properties.id,
  deliveryId: IdParam({ what: 'delivery', column: 'int8' }),
})

/**
 * `GET /api/admin/webhooks/:id/deliveries`: a page size and where the page starts; no other.
 * Strings, read by deliveryPage (delivery-pages.ts) by the page parameters' rule
 * (src/admin/page-query.ts): blank is not given; `limit` decimal digits from 1 to 50.
 */
export const DeliveriesQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.String({
        description:
          'deliveries a page: a whole number from 1 to 50 in decimal digits, leading zeros allowed (`01` is 1); 50 when not given or blank; anything else is refused (400 naming `limit` and the range)',
        examples: ['20'],
      }),
    ),
    cursor: CursorParameter(
      `where the page starts: the \`cursor\` of the previous answer's \`Link: <…>; rel="next"\`, as sent; ${cursorRule('cursor', "the order list's, another endpoint's deliveries': a cursor names its endpoint")}; a well-formed one of this endpoint's that no answer handed out is a place in the list like any other: the deliveries older than the one it names`,
    ),
  },
  { additionalProperties: false },
)

/**
 * The page forms (urlencoded, every value a string; a repeated field is an array). Open
 * schemas: the routes read and check the fields, re-rendering the form with the reason.
 */
export const EndpointForm = Type.Object({
  _csrf: Type.Optional(Type.String({ maxLength: 100 })),
  url: Type.Optional(Type.String({ maxLength: 4096 })),
  description: Type.Optional(Type.String({ maxLength: 4096 })),
  eventTypes: Type.Optional(
    Type.Union([Type.String({ maxLength: 100 }), Type.Array(Type.String({ maxLength: 100 }))]),
  ),
  enabled: Type.Optional(Type.String({ maxLength: 10 })),
  confirm: Type.Optional(Type.String({ maxLength: 10 })),
})
export type EndpointForm = Static<typeof EndpointForm>

/** What the list page's query says happened (after a 303). */
export const WebhooksPageQuery = Type.Object({
  deleted: Type.Optional(Type.String({ maxLength: 2100 })),
})
export const WebhookPageQuery = Type.Object({
  updated: Type.Optional(Type.String({ maxLength: 20 })),
  redelivered: Type.Optional(Type.String({ maxLength: 20 })),
  registered: Type.Optional(Type.String({ maxLength: 20 })),
  rotated: Type.Optional(Type.String({ maxLength: 20 })),
  overlapEnded: Type.Optional(Type.String({ maxLength: 20 })),
  /** "Older deliveries": the page of deliveries after this cursor (delivery-pages.ts). */
  cursor: CursorParameter('"Older deliveries": the page after this cursor'),
})
export type WebhookPageQuery = Static<typeof WebhookPageQuery>
