/**
 * A PostgreSQL array literal of texts or integers, for one query parameter cast to an array type
 * (`${arrayLiteral(skus)}::text[]`): `{"MUG-001","say \"hi\""}`, `{1,2,NULL}`; null and undefined
 * are NULL. Each text is double-quoted, with `"` and `\` backslash-escaped inside the quotes
 * (PostgreSQL 15 docs, 8.15.6 "Array Input and Output Syntax"), so any string reads back as
 * itself: empty, `NULL`, commas, braces, spaces and newlines included. Numbers are written as
 * JavaScript prints them, for integer columns.
 *
 * What node-postgres builds from a JS array itself (its `arrayString`), without the two regular
 * expression replacements per element it makes: placing a batch of orders sends a dozen arrays
 * of one element per order or line, and that conversion was 4% of the service's CPU per form
 * order (docs/benchmarks.md, "Stop 26").
 */
export function arrayLiteral(values: readonly (string | number | null | undefined)[]): string {
  let literal = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) literal += ','
    const value = values[i]
    if (value === null || value === undefined) literal += 'NULL'
    else if (typeof value === 'number') literal += String(value)
    else if (value.includes('"') || value.includes('\\')) {
      literal += `"${value.replace(escapes, '\\$&')}"`
    } else literal += `"${value}"`
  }
  return `${literal}}`
}

const escapes = /["\\]/g
