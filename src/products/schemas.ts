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
