/**
 * Where a schema (JSON Schema, TypeBox, or an OpenAPI document) has an `anyOf` of `const`s only:
 * a `Type.Union` of `Type.Literal`s, which Ajv reports as one "must be equal to constant" per
 * value plus "must match a schema in anyOf". Such a list belongs in a `Type.Enum` (src/validation.ts,
 * describe). Answers the JSON Pointers of each.
 */
export function unionsOfLiterals(schema: unknown, at = ''): string[] {
  if (schema === null || typeof schema !== 'object') return []
  const found: string[] = []
  const anyOf = (schema as { anyOf?: unknown }).anyOf
  if (
    Array.isArray(anyOf) &&
    anyOf.length > 0 &&
    anyOf.every((s) => s !== null && typeof s === 'object' && 'const' in s)
  ) {
    found.push(at || '/')
  }
  for (const [key, value] of Object.entries(schema)) {
    found.push(...unionsOfLiterals(value, `${at}/${key}`))
  }
  return found
}
