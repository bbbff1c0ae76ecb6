import type { Compilable, Kysely } from 'kysely'
import type { Database } from './schema.ts'

/**
 * A Kysely query built and compiled once per database, then run with fresh parameter values.
 * Kysely builds and compiles a tree of immutable nodes on every call; on the hottest reads that
 * was a fifth of the CPU a request cost (docs/benchmarks.md). The builder stays the source of
 * truth: `build` receives marker values for `keys`, and each call swaps in the real ones.
 */
export function precompile<A extends Record<string, unknown>, R>(
  keys: readonly (keyof A & string)[],
  build: (db: Kysely<Database>, args: A) => Compilable<R>,
): ((db: Kysely<Database>, args: A) => Promise<R[]>) & {
  /** The compiled statement (its text names the parameters $1, $2, ...): for plan checks. */
  compiled: (db: Kysely<Database>) => ReturnType<Compilable<R>['compile']>
} {
  const markers = Object.fromEntries(keys.map((k) => [k, `\u0000precompiled:${k}`])) as A
  const compiledFor = new WeakMap<Kysely<Database>, ReturnType<Compilable<R>['compile']>>()
  const compiled = (db: Kysely<Database>) => {
    let c = compiledFor.get(db)
    if (!c) {
      c = build(db, markers).compile()
      compiledFor.set(db, c)
    }
    return c
  }

  const run = async (db: Kysely<Database>, args: A) => {
    const c = compiled(db)
    const parameters = c.parameters.map((p) => {
      const key = keys.find((k) => markers[k] === p)
      return key === undefined ? p : args[key]
    })
    const { rows } = await db.executeQuery<R>({ ...c, parameters })
    return rows
  }
  return Object.assign(run, { compiled })
}
