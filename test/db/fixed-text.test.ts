import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { executeFixedText } from '../../src/db/fixed-text.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'

// A statement shaped as the batch's is: nested fragments, a join, raw text, a literal, arrays.
const statement = (names: string[], counts: number[], label: string, flag: boolean) => {
  const columns = sql.join([sql`${names}::text[]`, sql`${counts}::int[]`])
  const extra = flag ? sql`${sql.lit('yes')}` : sql`'no'`
  return sql<{ name: string; n: number; label: string; flag: string; ord: string }>`
    select r.name, r.n, ${label}::text as label, ${extra} as flag, ord
    from unnest(${columns}) with ordinality as r(name, n, ord)
    where r.n > ${sql.raw('0')}
    order by ord`
}

describe('executeFixedText', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp()
  })
  afterAll(async () => t?.close())

  it('answers as the compiled statement does, on the first run and on later ones', async () => {
    const db = t.app.db
    const key = `test:${randomUUID()}`
    for (const [names, counts, label] of [
      [['a', 'b'], [1, 2], 'first'],
      [['c', 'd "quoted"', 'e\\'], [3, 0, 5], 'second'],
      [['f'], [6], 'third'],
    ] as const) {
      const built = () => statement([...names], [...counts], label, true)
      const fixed = await executeFixedText(db, key, built())
      const compiled = await built().execute(db)
      expect(fixed.rows).toEqual(compiled.rows)
      expect(fixed.rows.map((r) => r.label)).toEqual(compiled.rows.map(() => label))
    }
  })

  it('compiles afresh a statement whose values no longer fit the kept text', async () => {
    const db = t.app.db
    const key = `test:${randomUUID()}`
    await executeFixedText(db, key, statement(['a'], [1], 'x', true))
    // One value fewer: the text kept for the key cannot be this one's, so it is compiled.
    const fewer = sql<{ one: number }>`select ${1}::int as one`
    expect((await executeFixedText(db, key, fewer)).rows).toEqual([{ one: 1 }])
  })

  it('compiles a statement that holds a query builder', async () => {
    const db = t.app.db
    const key = `test:${randomUUID()}`
    const mug = () => db.selectFrom('products').select('sku').where('sku', '=', 'MUG-001')
    const built = () => sql<{ n: number }>`select count(*)::int as n from (${mug()}) p`
    const first = await executeFixedText(db, key, built())
    expect((await executeFixedText(db, key, built())).rows).toEqual(first.rows)
    expect(first.rows).toEqual([{ n: 1 }])
  })
})
