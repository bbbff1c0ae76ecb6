import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { precompile } from '../../src/db/precompile.ts'
import { selectLinesByNumbers } from '../../src/orders/queries.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'

// docs/tricks.md, "Kysely: queries compiled once": src/db/precompile.ts builds a query once with
// marker values, compiles it, and on each call swaps the real values in where the markers sit
// in `parameters`. That holds while Kysely passes every value through as one parameter, as
// given, in a place the swap can find (not inlined, split, copied or converted). If Kysely
// changes that, a call would send a marker to the database: these tests see it first.

const isMarker = (p: unknown) => typeof p === 'string' && p.includes('precompiled:')

describe('precompiled Kysely queries', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp()
  })
  afterAll(async () => {
    await t?.close()
  })

  // Values in the shapes the service passes: a scalar, a number, an array cast in raw SQL.
  const bySku = precompile(
    ['sku', 'minStock', 'skus'],
    (db, a: { sku: string; minStock: number; skus: string[] }) =>
      db
        .selectFrom('products')
        .select(['sku', 'stock'])
        .where((eb) =>
          eb.or([eb('sku', '=', a.sku), eb('sku', '=', sql<string>`any(${a.skus}::text[])`)]),
        )
        .where('stock', '>=', a.minStock)
        .orderBy('sku'),
  )

  it('keeps each marker as one parameter, in the order the builder used them', () => {
    expect(bySku.compiled(t.app.db).parameters).toEqual([
      '\u0000precompiled:sku',
      '\u0000precompiled:skus',
      '\u0000precompiled:minStock',
    ])
    // The service's hot lookup: its one argument is still a parameter of its own.
    const { parameters } = selectLinesByNumbers.compiled(t.app.db)
    expect(parameters.filter(isMarker)).toEqual(['\u0000precompiled:orderNumbers'])
  })

  it('returns what the builder returns when it is run afresh with the same values', async () => {
    const db = t.app.db
    const skus = (await db.selectFrom('products').select('sku').orderBy('sku').execute()).map(
      (p) => p.sku,
    )
    expect(skus.length).toBeGreaterThan(3)
    for (const [args, rows] of [
      [{ sku: skus[0] as string, minStock: 0, skus: [skus[2] as string] }, 2],
      [{ sku: skus[1] as string, minStock: 0, skus: skus.slice(2, 4) }, 3],
      [{ sku: 'NONE', minStock: 1_000_000_000, skus: [] }, 0],
    ] as const) {
      const fresh = await db
        .selectFrom('products')
        .select(['sku', 'stock'])
        .where((eb) =>
          eb.or([eb('sku', '=', args.sku), eb('sku', '=', sql<string>`any(${args.skus}::text[])`)]),
        )
        .where('stock', '>=', args.minStock)
        .orderBy('sku')
        .execute()
      expect(fresh).toHaveLength(rows)
      expect(await bySku(db, { ...args, skus: [...args.skus] })).toEqual(fresh)
    }
  })
})
