import { Type } from 'typebox'
import { stateCodes } from '../us-states.ts'

// Printable text only: control characters (NUL above all) have no place in a name or address,
// nor do lone UTF-16 surrogates (JSON's "\ud800"): they cannot be stored as UTF-8, so the
// database would keep U+FFFD while the reply echoed what was sent. (Ajv compiles patterns with
// the u flag, so a surrogate pair, one emoji, is one code point outside that range.)
const text = (maxLength: number, what: string) =>
  Type.String({
    minLength: 1,
    maxLength,
    pattern: '^(?=.*\\S)[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]+$',
    errorMessage: `must be ${what} of 1 to ${maxLength} printable characters`,
  })

export const Sku = Type.String({
  pattern: '^[A-Z0-9-]{1,32}$',
  errorMessage: 'must be a product SKU like MUG-001',
})
export const Quantity = Type.Integer({
  minimum: 1,
  maximum: 100,
  // Ajv (8.20) coerces the string "1e309" to Infinity and then skips minimum and maximum, which
  // it checks on finite numbers only: that quantity reached SQL and failed there (a 500).
  // The inner maximum, skipped the same way, holds for a non-finite number, so this `not`
  // refuses exactly those (any finite quantity of 1 or more is above 0 and passes).
  not: { maximum: 0 },
  errorMessage: 'must be a whole number from 1 to 100',
})
export const StateCode = Type.String({
  enum: stateCodes as string[],
  errorMessage: 'must be a US state as its 2-letter code, like CA or NY',
})

export const Customer = Type.Object(
  {
    name: text(100, 'a name'),
    email: Type.String({
      format: 'email',
      maxLength: 254,
      errorMessage: 'must be an e-mail address like name@example.com',
    }),
    address: text(200, 'a street address'),
    city: text(100, 'a city'),
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

/** The order form as a browser posts it (urlencoded; every value a string until coerced). */
export const OrderForm = Type.Object({
  sku: Sku,
  quantity: Quantity,
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
