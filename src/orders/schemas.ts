import { type Static, Type } from 'typebox'
import { normaliseFields } from '../text.ts'
import { Customer, customerNormalisers } from './customer.ts'
import { mergeLines } from './placement.ts'

export const Sku = Type.String({
  pattern: '^[A-Z0-9-]{1,32}$',
  errorMessage: 'must be a product SKU like MUG-001',
})
const maxQuantity = 100
const quantityMessage = `must be a whole number from 1 to ${maxQuantity}`
/**
 * A quantity in the API: a JSON integer (Ajv does not coerce, see app.ts: `true`, `"16"` and
 * `"0x10"` are refused, not read as 1 and 16).
 */
export const Quantity = Type.Integer({
  minimum: 1,
  maximum: maxQuantity,
  // Ajv (8.20) skips minimum and maximum for a non-finite number. JSON has none, but this keeps
  // the schema sound on its own: the inner maximum holds for exactly those, so `not` refuses them.
  not: { maximum: 0 },
  errorMessage: quantityMessage,
})
/**
 * A quantity on the form, where every value is a string: decimal digits only, 1 to 100 (leading
 * zeros read as decimal, `010` is 10). No `0x10`, `1e1`, `+5`, `1.0` or full-width digits.
 */
export const FormQuantity = Type.String({
  pattern: '^0*(?:[1-9][0-9]?|100)$',
  errorMessage: quantityMessage,
})
/** A line of an order as the API takes it. */
export const OrderLineInput = Type.Object(
  { sku: Sku, quantity: Quantity },
  { additionalProperties: false },
)
export type OrderLineInput = Static<typeof OrderLineInput>

export const OrderRequestBody = Type.Object(
  { items: Type.Array(OrderLineInput, { minItems: 1, maxItems: 20 }), customer: Customer },
  { additionalProperties: false },
)

/** What placing an order takes: the body's lines and customer, and the idempotency key. */
export type OrderRequest = Static<typeof OrderRequestBody> & { idempotencyKey: string }

/** A line of an order as the API and the pages show it: the unit price captured at ordering. */
export const OrderLine = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  quantity: Type.Integer(),
  unitPriceCents: Type.Integer(),
})
export type OrderLine = Static<typeof OrderLine>

/**
 * An order as the API and the pages show it: `status` is the current one (src/lifecycle), read
 * from the database on every request, never from a cache (order-batcher.ts).
 */
export const Order = Type.Object({
  orderNumber: Type.String({ examples: ['7K3QX-M2ZPA'] }),
  status: Type.String(),
  totalCents: Type.Integer(),
  items: Type.Array(OrderLine),
  customer: Customer,
  createdAt: Type.String({ format: 'date-time' }),
  /** Who carries the parcel and its tracking number: null until the order is shipped. */
  carrier: Type.Union([Type.String(), Type.Null()], { examples: ['UPS'] }),
  trackingNumber: Type.Union([Type.String(), Type.Null()], { examples: ['1Z999AA10123456784'] }),
})
export type Order = Static<typeof Order>

export const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^[\\x21-\\x7e]+$',
  errorMessage: 'must be 1 to 200 visible ASCII characters, such as a UUID',
})

/** The headers of POST /api/orders: the client's key for retrying safely. */
export const IdempotencyHeaders = Type.Object({ 'idempotency-key': IdempotencyKey })

// Not pattern-checked here: a malformed number is simply one that does not exist (404).
export const OrderNumberParams = Type.Object({
  orderNumber: Type.String({ maxLength: 32, examples: ['7K3QX-M2ZPA'] }),
})

/** The order form as a browser posts it (urlencoded: every value a string). */
export const OrderForm = Type.Object({
  sku: Sku,
  quantity: FormQuantity,
  ...Customer.properties,
  idempotencyKey: Type.String({
    format: 'uuid',
    errorMessage: 'is missing or damaged; reload the page and submit again',
  }),
})

export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
})

/** SKUs are codes: `mug-001` is MUG-001. */
const normaliseSku = (value: string) => value.trim().toUpperCase()

/**
 * Brings a `POST /api/orders` body to its canonical spelling, in place, before the schema
 * validates it (Ajv cannot trim): text trimmed and in NFC, codes in upper case, ZIP+4 with its
 * dash, the e-mail domain in lower case. What is validated is what is stored.
 */
export function normaliseOrderBody(body: unknown): void {
  if (!body || typeof body !== 'object') return
  const { items, customer } = body as { items?: unknown; customer?: unknown }
  normaliseFields(customer, customerNormalisers)
  if (Array.isArray(items)) for (const item of items) normaliseFields(item, { sku: normaliseSku })
}

/** The same for the order form's flat fields; the quantity is trimmed, then must be digits. */
export function normaliseOrderForm(body: unknown): void {
  normaliseFields(body, {
    ...customerNormalisers,
    sku: normaliseSku,
    quantity: (value) => value.trim(),
  })
}

/**
 * The limits on what will be stored, checked after lines of one product are merged into one
 * (as placeOrder stores them): each merged line's quantity holds to the limit a line sent must
 * hold to. The number of lines only shrinks by merging, and there is no limit on an order's
 * value beyond these two. Returns the 400 message in the API's wording, or undefined.
 */
export function mergedLinesProblem(items: readonly OrderLineInput[]): string | undefined {
  for (const { sku, quantity } of mergeLines(items)) {
    if (quantity <= maxQuantity) continue
    const lines = items.filter((item) => item.sku === sku).length
    return `items: ${sku} comes to ${quantity} units over ${lines} lines; the quantity of one product ${quantityMessage}`
  }
  return undefined
}
