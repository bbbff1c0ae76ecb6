import { type Static, Type } from 'typebox'
import { StateCode } from '../us-states.ts'

// Every shape the insights answer with, and its type (`Static`): one definition each.

const Cents = Type.Integer({ description: 'integer cents' })

/** A product's units sold: one of a state's best sellers (the confirmation page's top three). */
export const TopProduct = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  units: Type.Integer(),
})
export type TopProduct = Static<typeof TopProduct>

export const ProductSales = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  units: Type.Integer(),
  orders: Type.Integer(),
  revenueCents: Cents,
})
export type ProductSales = Static<typeof ProductSales>

export const StateSummary = Type.Object({
  state: Type.String(),
  name: Type.String(),
  orders: Type.Integer(),
  units: Type.Integer(),
  revenueCents: Cents,
  /** The state's best seller by units, or null before its first sale. */
  topProduct: Type.Union([TopProduct, Type.Null()]),
})
export type StateSummary = Static<typeof StateSummary>

export const InsightsOverview = Type.Object({
  orders: Type.Integer(),
  units: Type.Integer(),
  revenueCents: Cents,
  national: Type.Array(ProductSales, { description: 'the national top three by units' }),
  /** Every state and DC, alphabetical by code, zeros where nothing sold yet. */
  states: Type.Array(StateSummary),
})
export type InsightsOverview = Static<typeof InsightsOverview>

/** One of the national top three, and where it stands in a state. */
export const NationalComparison = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  nationalRank: Type.Integer(),
  nationalUnits: Type.Integer(),
  unitsInState: Type.Integer(),
  /** 1 for the state's best seller; null when the state has not bought it. */
  rankInState: Type.Union([Type.Integer(), Type.Null()]),
})
export type NationalComparison = Static<typeof NationalComparison>

export const StateInsights = Type.Object({
  state: Type.String(),
  name: Type.String(),
  orders: Type.Integer(),
  units: Type.Integer(),
  revenueCents: Cents,
  products: Type.Array(ProductSales, { description: 'every product sold there, most units first' }),
  national: Type.Array(NationalComparison, {
    description: 'the national top three, and where each stands in this state',
  }),
})
export type StateInsights = Static<typeof StateInsights>

// The public insights (GET /insights, /api/insights): best sellers by units, what the order
// confirmation already shows, never order counts or revenue; those are staff-only (/admin).

export const PublicStateSummary = Type.Object({
  state: Type.String(),
  name: Type.String(),
  units: Type.Integer(),
  /** The state's best seller by units, or null before its first sale. */
  topProduct: Type.Union([TopProduct, Type.Null()]),
})
export type PublicStateSummary = Static<typeof PublicStateSummary>

export const PublicInsightsOverview = Type.Object({
  units: Type.Integer(),
  national: Type.Array(TopProduct, { description: 'the national top three by units' }),
  /** Every state and DC, alphabetical by code, zeros where nothing sold yet. */
  states: Type.Array(PublicStateSummary),
})
export type PublicInsightsOverview = Static<typeof PublicInsightsOverview>

export const PublicStateInsights = Type.Object({
  state: Type.String(),
  name: Type.String(),
  units: Type.Integer(),
  products: Type.Array(TopProduct, { description: 'every product sold there, most units first' }),
  national: Type.Array(NationalComparison, {
    description: 'the national top three, and where each stands in this state',
  }),
})
export type PublicStateInsights = Static<typeof PublicStateInsights>

const unitsOf = ({ sku, name, units }: TopProduct): TopProduct => ({ sku, name, units })

/** The overview without order counts or revenue. */
export const publicOverview = (o: InsightsOverview): PublicInsightsOverview => ({
  units: o.units,
  national: o.national.map(unitsOf),
  states: o.states.map(({ state, name, units, topProduct }) => ({
    state,
    name,
    units,
    topProduct,
  })),
})

/** A state's insights without order counts or revenue. */
export const publicStateInsights = (s: StateInsights): PublicStateInsights => ({
  state: s.state,
  name: s.name,
  units: s.units,
  products: s.products.map(unitsOf),
  national: s.national,
})

/** A state's three best sellers, for GET /api/states/:state/top-products. */
export const StateTopProducts = Type.Object({
  state: Type.String(),
  products: Type.Array(TopProduct),
})

/** `:state` of the insights API: a state code (normalised before validation, see routes.ts). */
export const StateParams = Type.Object({ state: StateCode })

/** `:state` of the insights pages: anything short; the page redirects or answers 404 itself. */
export const StatePageParams = Type.Object({ state: Type.String({ maxLength: 20 }) })
