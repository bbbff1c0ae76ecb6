import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { stateCodes, usStates } from '../us-states.ts'
import type { InsightsOverview, ProductSales, StateInsights, StateSummary } from './schemas.ts'

// Every read here touches the aggregates only (at most states x products rows), never orders:
// their cost does not grow with the number of orders. A product's row stays when cancels take
// its units back to 0: every product list here keeps units > 0 only.

const n = (v: string | number | bigint) => Number(v)

/** Units, orders and revenue per product over all states, most units first (units > 0). */
export async function nationalTopProducts(
  db: Kysely<Database>,
  limit = 3,
): Promise<ProductSales[]> {
  const rows = await db
    .selectFrom('state_product_sales as s')
    .innerJoin('products as p', 'p.id', 's.product_id')
    .select((eb) => [
      'p.sku',
      'p.name',
      eb.fn.sum<string>('s.units').as('units'),
      eb.fn.sum<string>('s.orders').as('orders'),
      eb.fn.sum<string>('s.revenue_cents').as('revenue_cents'),
    ])
    .where('s.units', '>', 0)
    .groupBy(['p.id', 'p.sku', 'p.name'])
    .orderBy('units', 'desc')
    .orderBy('p.id')
    .limit(limit)
    .execute()
  return rows.map((r) => ({
    sku: r.sku,
    name: r.name,
    units: n(r.units),
    orders: n(r.orders),
    revenueCents: n(r.revenue_cents),
  }))
}

/** Orders per state with each state's best seller, for the map, plus the national totals. */
export async function insightsOverview(db: Kysely<Database>): Promise<InsightsOverview> {
  const [totals, best, national] = await Promise.all([
    db.selectFrom('state_sales').selectAll().execute(),
    db
      .selectFrom('state_product_sales as s')
      .innerJoin('products as p', 'p.id', 's.product_id')
      .distinctOn('s.state')
      .select(['s.state', 'p.sku', 'p.name', 's.units'])
      .where('s.units', '>', 0)
      .orderBy('s.state')
      .orderBy('s.units', 'desc')
      .orderBy('s.product_id')
      .execute(),
    nationalTopProducts(db),
  ])
  const byState = new Map(totals.map((t) => [t.state, t]))
  const bestByState = new Map(best.map((b) => [b.state, b]))
  const states = stateCodes.map((state): StateSummary => {
    const t = byState.get(state)
    const b = bestByState.get(state)
    return {
      state,
      name: usStates[state] ?? state,
      orders: t ? n(t.orders) : 0,
      units: t ? n(t.units) : 0,
      revenueCents: t ? n(t.revenue_cents) : 0,
      topProduct: b ? { sku: b.sku, name: b.name, units: n(b.units) } : null,
    }
  })
  const sum = (pick: (s: StateSummary) => number) => states.reduce((acc, s) => acc + pick(s), 0)
  return {
    orders: sum((s) => s.orders),
    units: sum((s) => s.units),
    revenueCents: sum((s) => s.revenueCents),
    national,
    states,
  }
}

/** One state's products by units and revenue, and how it compares with the national top three. */
export async function stateInsights(db: Kysely<Database>, state: string): Promise<StateInsights> {
  const [totals, rows, national] = await Promise.all([
    db.selectFrom('state_sales').selectAll().where('state', '=', state).executeTakeFirst(),
    db
      .selectFrom('state_product_sales as s')
      .innerJoin('products as p', 'p.id', 's.product_id')
      .select(['p.sku', 'p.name', 's.units', 's.orders', 's.revenue_cents'])
      .where('s.state', '=', state)
      .where('s.units', '>', 0)
      .orderBy('s.units', 'desc')
      .orderBy('s.product_id')
      .execute(),
    nationalTopProducts(db),
  ])
  const products = rows.map((r) => ({
    sku: r.sku,
    name: r.name,
    units: n(r.units),
    orders: n(r.orders),
    revenueCents: n(r.revenue_cents),
  }))
  return {
    state,
    name: usStates[state] ?? state,
    orders: totals ? n(totals.orders) : 0,
    units: totals ? n(totals.units) : 0,
    revenueCents: totals ? n(totals.revenue_cents) : 0,
    products,
    national: national.map((p, i) => {
      const at = products.findIndex((s) => s.sku === p.sku)
      return {
        sku: p.sku,
        name: p.name,
        nationalRank: i + 1,
        nationalUnits: p.units,
        unitsInState: at >= 0 ? (products[at]?.units ?? 0) : 0,
        rankInState: at >= 0 ? at + 1 : null,
      }
    }),
  }
}
