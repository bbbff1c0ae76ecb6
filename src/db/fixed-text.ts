import {
  CompiledQuery,
  type Kysely,
  type OperationNode,
  type QueryResult,
  type RawBuilder,
  type RawNode,
  type ValueNode,
} from 'kysely'

/** Each statement's text as Kysely compiled it the first time, and how many parameters it takes. */
const texts = new Map<string, { sql: string; parameters: number }>()

/**
 * The values of a raw statement (sql`...` nested in sql`...`, sql.join, sql.raw, sql.lit and
 * plain values) in the order Kysely's compiler numbers them ($1, $2, …): depth first, leaving
 * out literals, which are written into the text. False for any other node (a query builder's),
 * whose parameters only the compiler knows.
 */
function valuesOf(node: OperationNode, into: unknown[]): boolean {
  if (node.kind === 'ValueNode') {
    const value = node as ValueNode
    if (!value.immediate) into.push(value.value)
    return true
  }
  if (node.kind !== 'RawNode') return false
  for (const parameter of (node as RawNode).parameters) {
    if (!valuesOf(parameter, into)) return false
  }
  return true
}

/**
 * Runs a raw statement whose text is the same on every run (only its values change), compiled
 * by Kysely once per `key`: afterwards its values are read off the statement and sent with the
 * text kept, so a batch costs no compilation (walking some two hundred fragments, building a
 * 4 kB text, and pg hashing a new string to find its prepared statement). A statement whose
 * values do not match the kept text in number, or that holds a node other than raw SQL and
 * values, is compiled as usual (and its text kept). Give each text its own key: two texts under
 * one key with as many values would run the first one's.
 * @throws what executing it throws
 */
export function executeFixedText<DB, R>(
  db: Kysely<DB>,
  key: string,
  statement: RawBuilder<R>,
): Promise<QueryResult<R>> {
  const kept = texts.get(key)
  const values: unknown[] = []
  if (kept && valuesOf(statement.toOperationNode(), values) && values.length === kept.parameters) {
    return db.executeQuery<R>(CompiledQuery.raw(kept.sql, values))
  }
  const compiled = statement.compile(db)
  texts.set(key, { sql: compiled.sql, parameters: compiled.parameters.length })
  return db.executeQuery<R>(compiled)
}
