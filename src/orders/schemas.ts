import { Type } from 'typebox'
import { normaliseFields, normaliseText, Text } from '../text.ts'
import { normaliseStateCode, stateCodes } from '../us-states.ts'
import type { OrderRequest } from './order.ts'
import { mergeLines } from './place-order.ts'

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
export const StateCode = Type.String({
  enum: stateCodes as string[],
  errorMessage: 'must be a US state as its 2-letter code, like CA or NY',
})

export const Customer = Type.Object(
  {
    name: Text(100, 'a name'),
    email: Type.String({
      format: 'email',
      maxLength: 254,
      errorMessage: 'must be an e-mail address like name@example.com',
    }),
    address: Text(200, 'a street address'),
    city: Text(100, 'a city'),
    state: StateCode,
    zip: Type.String({
      pattern: '^\\d{5}(-\\d{4})?$',
      errorMessage: 'must be a 5-digit ZIP code, like 94107 or 94107-1234',
    }),
  },
  { additionalProperties: false },
)

export const OrderItem = Type.Object(
  { sku: Sku, quantity: Quantity },
  { additionalProperties: false },
)

export const OrderRequestBody = Type.Object(
  { items: Type.Array(OrderItem, { minItems: 1, maxItems: 20 }), customer: Customer },
  { additionalProperties: false },
)

export const Order = Type.Object({
  orderNumber: Type.String({ examples: ['7K3QX-M2ZPA'] }),
  status: Type.String(),
  totalCents: Type.Integer(),
  items: Type.Array(
    Type.Object({
      sku: Type.String(),
      name: Type.String(),
      quantity: Type.Integer(),
      unitPriceCents: Type.Integer(),
    }),
  ),
  customer: Type.Object({
    name: Type.String(),
    email: Type.String(),
    address: Type.String(),
    city: Type.String(),
    state: Type.String(),
    zip: Type.String(),
  }),
  createdAt: Type.String({ format: 'date-time' }),
})

export const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^[\\x21-\\x7e]+$',
  errorMessage: 'must be 1 to 200 visible ASCII characters, such as a UUID',
})

// Not pattern-checked here: a malformed number is simply one that does not exist (404).
export const OrderNumberParams = Type.Object({
  orderNumber: Type.String({ maxLength: 32, examples: ['7K3QX-M2ZPA'] }),
})

/** The order form as a browser posts it (urlencoded: every value a string). */
export const OrderForm = Type.Object({
  sku: Sku,
  quantity: FormQuantity,
  name: Customer.properties.name,
  email: Customer.properties.email,
  address: Customer.properties.address,
  city: Customer.properties.city,
  state: StateCode,
  zip: Customer.properties.zip,
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

/** `Ada@Example.COM` -> `Ada@example.com`: a domain has no case; a local part may (RFC 5321 §2.4). */
export function normaliseEmail(value: string): string {
  const email = value.trim()
  const at = email.lastIndexOf('@')
  return at < 0 ? email : email.slice(0, at + 1) + email.slice(at + 1).toLowerCase()
}

/** `78701 1234`, `787011234` and `78701 - 1234` -> `78701-1234`; anything else only trimmed. */
export function normaliseZip(value: string): string {
  const zip = value.trim()
  const plus4 = /^(\d{5})[\s-]*(\d{4})$/.exec(zip)
  return plus4 ? `${plus4[1]}-${plus4[2]}` : zip
}

/** SKUs are codes: `mug-001` is MUG-001. */
const normaliseSku = (value: string) => value.trim().toUpperCase()

/** Each customer field's canonical form, the same for the API and the form. */
const customerNormalisers = {
  name: normaliseText,
  email: normaliseEmail,
  address: normaliseText,
  city: normaliseText,
  state: normaliseStateCode,
  zip: normaliseZip,
}

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
export function mergedLinesProblem(items: OrderRequest['items']): string | undefined {
  for (const { sku, quantity } of mergeLines(items)) {
    if (quantity <= maxQuantity) continue
    const lines = items.filter((item) => item.sku === sku).length
    return `items: ${sku} comes to ${quantity} units over ${lines} lines; the quantity of one product ${quantityMessage}`
  }
  return undefined
}
