import { type Static, Type } from 'typebox'
import { Order } from '../orders/schemas.ts'
import { normaliseFields, normaliseText, Text } from '../text.ts'
import { statuses, statusesBefore } from './transitions.ts'

/** Every status an order can be in. */
export const Status = Type.Enum(statuses)

/** The statuses a change can go to (every one that follows another in the table). */
export const targets = statuses.filter((s) => statusesBefore(s).length > 0)
export const Target = Type.Enum(targets, { errorMessage: `must be one of ${targets.join(', ')}` })
export type Target = Static<typeof Target>

/**
 * `POST /api/admin/orders/:orderNumber/transitions`. Free text follows the one text rule
 * (src/text.ts): trimmed, NFC, no control or invisible characters. That `carrier` and
 * `trackingNumber` come with `to: shipped` and only then is checked by changeOrderStatus.
 */
export const TransitionBody = Type.Object(
  {
    to: Target,
    note: Type.Optional(Text(500, 'a note')),
    carrier: Type.Optional(Text(50, 'a carrier name')),
    trackingNumber: Type.Optional(Text(100, 'a tracking number')),
  },
  { additionalProperties: false },
)
export type TransitionBody = Static<typeof TransitionBody>

/** Trims and NFC-normalises the body's text in place, before the schema validates it. */
export function normaliseTransitionBody(body: unknown): void {
  normaliseFields(body, {
    note: normaliseText,
    carrier: normaliseText,
    trackingNumber: normaliseText,
  })
}

/**
 * Required, as the service requires it; a request without it never meets this schema: the
 * route answers 428 Precondition Required (RFC 6585 §3) before validation (routes.ts,
 * requireIfMatch), not a generic 400.
 */
export const IfMatchHeaders = Type.Object({
  'if-match': Type.String({
    maxLength: 1000,
    description:
      'The order\'s ETag as GET gave it, such as "1" (428 without it, or with *, which matches every version)',
  }),
})

/** A GET of the order may be conditional: 304 Not Modified while its ETag is one of these. */
export const IfNoneMatchHeaders = Type.Object({
  'if-none-match': Type.Optional(
    Type.String({
      maxLength: 1000,
      description:
        'ETags of the order as GET gave them, such as "1" (or *): 304 with no body while the order is at one of them',
    }),
  ),
})

/** The ETag header of an answer with the order, as OpenAPI shows it (routes.ts sets it). */
export const orderEtag = {
  etag: {
    type: 'string',
    description: 'The order\'s version as a strong entity tag, such as "3": send it in If-Match',
  },
}

export const AdminOrderParams = Type.Object({
  orderNumber: Type.String({ maxLength: 32, examples: ['7K3QX-M2ZPA'] }),
})

/** One status change in an order's history. */
export const HistoryEntry = Type.Object({
  from: Status,
  to: Status,
  /** Who made it; null when no staff member did. */
  staff: Type.Union([Type.Object({ id: Type.Integer(), email: Type.String() }), Type.Null()]),
  note: Type.Union([Type.String(), Type.Null()]),
  at: Type.String({ format: 'date-time' }),
})
export type HistoryEntry = Static<typeof HistoryEntry>

/**
 * An order as the back office sees it: the shopper's order, plus its version (the ETag's
 * value), shipping details once shipped, and its history, oldest change first.
 */
export const AdminOrder = Type.Object({
  ...Order.properties,
  status: Status,
  version: Type.Integer({ minimum: 1 }),
  carrier: Type.Union([Type.String(), Type.Null()]),
  trackingNumber: Type.Union([Type.String(), Type.Null()]),
  history: Type.Array(HistoryEntry),
})
export type AdminOrder = Static<typeof AdminOrder>
