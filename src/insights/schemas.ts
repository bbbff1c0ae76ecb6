import { Type } from 'typebox'

const Cents = Type.Integer({ description: 'integer cents' })

export const ProductSales = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  units: Type.Integer(),
  orders: Type.Integer(),
  revenueCents: Cents,
})

export const InsightsOverview = Type.Object({
  orders: Type.Integer(),
  units: Type.Integer(),
  revenueCents: Cents,
  national: Type.Array(ProductSales, { description: 'the national top three by units' }),
  states: Type.Array(
    Type.Object({
      state: Type.String(),
      name: Type.String(),
      orders: Type.Integer(),
      units: Type.Integer(),
      revenueCents: Cents,
      topProduct: Type.Union([
        Type.Object({ sku: Type.String(), name: Type.String(), units: Type.Integer() }),
        Type.Null(),
      ]),
    }),
  ),
})

export const StateInsights = Type.Object({
  state: Type.String(),
  name: Type.String(),
  orders: Type.Integer(),
  units: Type.Integer(),
  revenueCents: Cents,
  products: Type.Array(ProductSales, { description: 'every product sold there, most units first' }),
  national: Type.Array(
    Type.Object({
      sku: Type.String(),
      name: Type.String(),
      nationalRank: Type.Integer(),
      nationalUnits: Type.Integer(),
      unitsInState: Type.Integer(),
      rankInState: Type.Union([Type.Integer(), Type.Null()]),
    }),
    { description: 'the national top three, and where each stands in this state' },
  ),
})
