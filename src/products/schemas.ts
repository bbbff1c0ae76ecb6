import { type Static, Type } from 'typebox'

/** A product of the catalogue as the API and the order form show it, with its current stock. */
export const Product = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  description: Type.String(),
  priceCents: Type.Integer(),
  imageUrl: Type.String(),
  stock: Type.Integer(),
})
export type Product = Static<typeof Product>

/** A product as the back office sees it: also whether it is on sale. */
export const AdminProduct = Type.Object({
  ...Product.properties,
  onSale: Type.Boolean({ description: 'false: not offered, and orders for it are refused' }),
  version: Type.Integer({
    minimum: 1,
    description:
      'grows by one with every staff change (restock, price, sale), not with orders: send it as If-Match ("3") with a restock so that a retry adds nothing',
  }),
})
export type AdminProduct = Static<typeof AdminProduct>

/**
 * The most stock one product can hold: PostgreSQL's integer, the type of products.stock. A
 * restock or a cancel that would pass it is refused (409), not a failed statement.
 */
export const maxStock = 2_147_483_647
/** Most units one restock adds; the stock itself stays within PostgreSQL's integer. */
export const maxRestockUnits = 1_000_000
/** Prices from 1 cent to $100,000.00: a price of 0 or a stray digit would be a costly typo. */
export const maxPriceCents = 10_000_000

const unitsMessage = `must be a whole number from 1 to ${maxRestockUnits.toLocaleString('en-US')}`
const priceMessage = `must be a whole number of cents from 1 to ${maxPriceCents.toLocaleString('en-US')}`

/** `POST /api/admin/products/:sku/restock`: units to add to the stock. */
export const RestockBody = Type.Object(
  {
    units: Type.Integer({
      minimum: 1,
      maximum: maxRestockUnits,
      // Ajv skips minimum and maximum for a non-finite number (see orders/schemas.ts Quantity).
      not: { maximum: 0 },
      errorMessage: unitsMessage,
    }),
  },
  { additionalProperties: false },
)

/**
 * A price in cents, as a product has it (1 to maxPriceCents); the `not` refuses what Ajv's
 * minimum and maximum skip, a non-finite number (see Quantity in src/orders/schemas.ts).
 */
export const PriceCents = Type.Integer({
  minimum: 1,
  maximum: maxPriceCents,
  not: { maximum: 0 },
  errorMessage: priceMessage,
})

/** `PATCH /api/admin/products/:sku`: a new price (for orders placed from now on), on sale or not. */
export const ProductPatch = Type.Object(
  {
    priceCents: Type.Optional(PriceCents),
    onSale: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export type ProductPatch = Static<typeof ProductPatch>

/** `:sku` in the back office: case-insensitive, upper-cased by the route before it is read. */
/**
 * A SKU in its one spelling: trimmed, ASCII letters in upper case (`mug-001` is MUG-001). Only
 * ASCII is folded: `toUpperCase` makes the long s `ſ` an `S`, so `ſck-010` would name SCK-010,
 * which the order form (ASCII field names) never does; such a SKU is kept and refused.
 */
export const canonicalSku = (sku: string) => {
  const trimmed = sku.trim()
  return /[\u0080-\uffff]/.test(trimmed) ? trimmed : trimmed.toUpperCase()
}

export const SkuParams = Type.Object({ sku: Type.String({ minLength: 1, maxLength: 32 }) })

/** The back office's product forms: every field a string, checked by the route. */
export const ProductForm = Type.Object({
  _csrf: Type.Optional(Type.String({ maxLength: 100 })),
  units: Type.Optional(Type.String({ maxLength: 50 })),
  price: Type.Optional(Type.String({ maxLength: 50 })),
  onSale: Type.Optional(Type.String({ maxLength: 10 })),
  /** The restock and price forms' product version when the page was shown (stale: 409). */
  version: Type.Optional(Type.String({ maxLength: 12 })),
})

export const ProductsPageQuery = Type.Object({
  updated: Type.Optional(Type.String({ maxLength: 32 })),
})

/** A whole number with thousands commas where they belong (`1,234,567`), not `1,0,0`. */
const groupedDigits = '[0-9]{1,3}(?:,[0-9]{3})+'

/**
 * Units typed on the restock form: plain decimal digits, or digits grouped by thousands commas
 * in the right places (`1,000`; `1,0,0` and `10,00` are refused), 1 to 1,000,000; undefined for
 * anything else.
 */
export function parseUnits(text: string | undefined): number | undefined {
  const typed = (text ?? '').trim()
  if (!new RegExp(`^(?:${groupedDigits}|[0-9]{1,7})$`).test(typed)) return undefined
  const units = Number(typed.replaceAll(',', ''))
  return units >= 1 && units <= maxRestockUnits ? units : undefined
}

/**
 * A price as a person types it in dollars (the back office's one rule for a typed price), as
 * integer cents from 1 to maxPriceCents: an optional `$`, whole dollars (plain digits, or grouped
 * by thousands commas in the right places), and at most two decimals: `18`, `18.5`, `5.` ($5.00),
 * `.5` ($0.50), `$1,234.56`. Undefined for anything else: no sign, no exponent, no third decimal,
 * not `.` alone, and 0 or above the most is refused like a typo.
 */
export function parsePriceCents(text: string | undefined): number | undefined {
  const m = new RegExp(
    `^\\$?(?:(${groupedDigits}|[0-9]{1,9})(?:\\.([0-9]{0,2}))?|\\.([0-9]{1,2}))$`,
  ).exec((text ?? '').trim())
  if (!m) return undefined
  const dollars = Number(m[1]?.replaceAll(',', '') ?? 0)
  const cents = dollars * 100 + Number((m[2] ?? m[3] ?? '').padEnd(2, '0'))
  return cents >= 1 && cents <= maxPriceCents ? cents : undefined
}

export const formatUnitsRule = unitsMessage
export const formatPriceRule = `must be an amount in dollars from $0.01 to $${(maxPriceCents / 100).toLocaleString('en-US')}`
