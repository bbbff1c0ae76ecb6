import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { arrayLiteral } from '../../src/db/arrays.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'

// The array literals the order statements send (src/db/arrays.ts) read back as the values they
// were made of, on PGlite and PostgreSQL: whatever a shopper types reaches its column unchanged.
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp({ RATE_LIMIT_MAX: '0' })
})
afterAll(() => t?.close())

const texts = [
  '',
  'NULL',
  'null',
  'a"b',
  'c\\d',
  '\\"',
  '"',
  '\\',
  '{a,b}',
  'a,b',
  ' leading and trailing ',
  'new\nline\ttab',
  "O'Brien",
  'Zoë Ünï 😀',
  null,
  'last',
]

it('reads back every text as itself, in order, NULL as null', async () => {
  const { rows } = await sql<{ value: string | null }>`
    select value from unnest(${arrayLiteral(texts)}::text[]) with ordinality as a(value, n)
    order by n`.execute(t.app.db)
  expect(rows.map((r) => r.value)).toEqual(texts)
})

it('reads back integers and NULL, undefined as NULL', async () => {
  const values = [1, 0, -3, 2147483647, null, undefined, 42]
  const { rows } = await sql<{ value: number | null }>`
    select value from unnest(${arrayLiteral(values)}::int[]) with ordinality as a(value, n)
    order by n`.execute(t.app.db)
  expect(rows.map((r) => r.value)).toEqual([1, 0, -3, 2147483647, null, null, 42])
})

it('reads back an empty array as one', async () => {
  const { rows } = await sql<{ n: number }>`
    select cardinality(${arrayLiteral([])}::text[]) as n`.execute(t.app.db)
  expect(rows[0]?.n).toBe(0)
})
