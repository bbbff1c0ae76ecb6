import { type Static, Type } from 'typebox'
import { ProblemSchema } from '../plugins/problems.ts'
import { canonicalSku, PriceCents } from '../products/schemas.ts'
import { normaliseFields } from '../text.ts'
import { Customer, customerNormalisers } from './customer.ts'
import { linesProblem, orderLimits } from './limits.ts'

export const Sku = Type.String({
  pattern: '^[A-Z0-9-]{1,32}$',
  errorMessage: 'must be a product SKU like MUG-001',
})
const { maxLineQuantity, maxLines } = orderLimits
const quantityMessage = `must be a whole number from 1 to ${maxLineQuantity}`
/**
 * A quantity in the API: a JSON integer (Ajv does not coerce, see app.ts: `true`, `"16"` and
 * `"0x10"` are refused, not read as 1 and 16).
 */
export const Quantity = Type.Integer({
  minimum: 1,
  maximum: maxLineQuantity,
  // Ajv (8.20) skips minimum and maximum for a non-finite number. JSON has none, but this keeps
  // the schema sound on its own: the inner maximum holds for exactly those, so `not` refuses them.
  not: { maximum: 0 },
  errorMessage: quantityMessage,
})
/** The form's message for a quantity that is not a number of units it takes. */
export const formQuantityMessage = `must be a whole number from 0 to ${maxLineQuantity}`
/**
 * A product's quantity on the form, where every value is a string: decimal digits only (leading
 * zeros read as decimal, `010` is 10), empty for 0 (the page shows each empty until typed in). No `0x10`, `1e1`, `+5`,
 * `1.0` or full-width digits. The range, 0 to maxLineQuantity, is checked on the merged lines
 * with the API's limits (limits.ts), by the handler.
 */
export const FormQuantity = Type.String({ pattern: '^[0-9]*$', errorMessage: formQuantityMessage })

/**
 * A line of an order as the API takes it. `unitPriceCents`, optional, is the unit price the
 * client showed: given, the order is refused (409 `price-changed`) unless it is the product's
 * price when the order is placed.
 */
export const OrderLineInput = Type.Object(
  { sku: Sku, quantity: Quantity, unitPriceCents: Type.Optional(PriceCents) },
  { additionalProperties: false },
)
export type OrderLineInput = Static<typeof OrderLineInput>

export const OrderRequestBody = Type.Object(
  { items: Type.Array(OrderLineInput, { minItems: 1, maxItems: maxLines }), customer: Customer },
  {
    additionalProperties: false,
    // What /docs fills in for "Try it out": without it, text made from the patterns, refused.
    examples: [
      {
        items: [{ sku: 'MUG-001', quantity: 2 }],
        customer: {
          name: 'Ada Lovelace',
          email: 'ada@example.com',
          address: '12 Analytical Way',
          city: 'San Francisco',
          state: 'CA',
          zip: '94107',
        },
      },
    ],
  },
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
  // /docs' Try it out sends it: a second try answers the first one's order (200), as a retry.
  examples: ['0b4f6c2e-9d3a-4e71-8a5c-2f1e7d9b6a30'],
})

/** The headers of POST /api/orders: the client's key for retrying safely. */
export const IdempotencyHeaders = Type.Object({ 'idempotency-key': IdempotencyKey })

// Not pattern-checked here: a malformed number is simply one that does not exist (404).
export const OrderNumberParams = Type.Object({
  orderNumber: Type.String({ maxLength: 32, examples: ['7K3QX-M2ZPA'] }),
})

/**
 * A product's quantity field on the form: `qty-<SKU>` (any case; the SKU is upper-cased when
 * read). The schema and the handler (page-routes.ts) match the same keys.
 */
export const formQuantityKey = /^qty-([A-Za-z0-9-]{1,32})$/

/**
 * A product's price as the form showed it: `price-<SKU>`, hidden, in cents (digits only). A
 * chosen product's price field makes its line expect that price (OrderLineInput.unitPriceCents),
 * so a price changed since the page was shown is refused, not charged. A form without one (an
 * older page, a script) is placed at the price of the moment, as before.
 */
export const formPriceKey = /^price-([A-Za-z0-9-]{1,32})$/
/**
 * A field named as a product's quantity (`qty-`, in any case) whose rest is no SKU: `qty-MÜG-001`,
 * `qty-`, a name with a space. No page writes one; chosen (anything but zeros and spaces), it is
 * refused as a product not on the form, never left out of the order unsaid.
 */
export const formStrayQuantityKey = /^[Qq][Tt][Yy]-(?![A-Za-z0-9-]{1,32}$)/
/**
 * A price the page could have shown: 1 cent or more, digits only (one larger than any product
 * has is answered as a changed price).
 */
export const formPricePattern = /^0*[1-9][0-9]{0,7}$/
const FormPrice = Type.String({
  pattern: formPricePattern.source,
  errorMessage: 'is damaged; reload the page and submit again',
})

/**
 * The form's idempotency key: a UUID in its text form (RFC 9562 §4), as the page writes it, in
 * either case. Not Ajv's `uuid` format, which takes a `urn:uuid:` prefix too: that key would be
 * another than the bare one, and make a second order of one form.
 */
export const validKey =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

/**
 * The order form as a browser posts it (urlencoded: every value a string): a `qty-<SKU>` field
 * per product offered, 0 or empty for the products not chosen, its `price-<SKU>` as shown, the
 * customer and the key.
 */
export const OrderForm = Type.Object(
  {
    ...Customer.properties,
    idempotencyKey: Type.String({
      pattern: validKey.source,
      errorMessage: 'is missing or damaged; reload the page and submit again',
    }),
  },
  {
    patternProperties: {
      [formQuantityKey.source]: FormQuantity,
      [formPriceKey.source]: FormPrice,
      [formStrayQuantityKey.source]: Type.String({
        pattern: '^[0\\s]*$',
        errorMessage: 'names no product on this form',
      }),
    },
  },
)
export type OrderForm = Static<typeof OrderForm> &
  Record<`qty-${string}` | `price-${string}`, string>

export const ErrorResponse = ProblemSchema

/**
 * Brings a `POST /api/orders` body to its canonical spelling, in place, before the schema
 * validates it (Ajv cannot trim): text trimmed and in NFC, codes in upper case, ZIP+4 with its
 * dash, the e-mail domain in lower case. What is validated is what is stored.
 */
export function normaliseOrderBody(body: unknown): void {
  if (!body || typeof body !== 'object') return
  const { items, customer } = body as { items?: unknown; customer?: unknown }
  normaliseFields(customer, customerNormalisers)
  if (Array.isArray(items)) for (const item of items) normaliseFields(item, { sku: canonicalSku })
}

/**
 * The API's 400 message when the lines break the order limits (limits.ts), and the JSON Pointer
 * it refuses (`/items`, or the line naming a second price), or undefined. The schema already
 * holds each line as sent to the limits and their number to maxLines, so what is left is a
 * product whose lines together come to too many units or name two prices.
 */
export function mergedLinesProblem(
  items: readonly OrderLineInput[],
): { pointer: string; message: string } | undefined {
  const problem = linesProblem(items)
  const at = (message: string, pointer = '/items') => ({ pointer, message })
  switch (problem?.kind) {
    case undefined:
      return undefined
    case 'no-lines':
      return at('items must have at least 1 line')
    case 'too-many-lines':
      return at(`items must have at most ${maxLines} lines`)
    case 'line-over':
      return at(
        `items: ${problem.sku} comes to ${problem.quantity} units over ${problem.lines} lines; the quantity of one product ${quantityMessage}`,
      )
    case 'price-conflict':
      return at(
        `items: ${problem.sku} is given two unit prices, ${problem.prices.join(' and ')} cents; give one`,
        `/items/${problem.line}/unitPriceCents`,
      )
  }
}
