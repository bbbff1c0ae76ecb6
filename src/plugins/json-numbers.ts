/**
 * A JSON.parse reviver; `context.source` is the text of a number (or other primitive) literal
 * (TC39 "JSON.parse source text access", in V8 and so in Node 24).
 */
export type Reviver = (
  this: unknown,
  key: string,
  value: unknown,
  context?: { source?: string },
) => unknown

// The literal's parts (RFC 8259 §6): sign, integer digits, fraction digits, exponent.
const numberLiteral = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([-+]?[0-9]+))?$/

/**
 * For a JSON number literal that does not stand for an integer, the number halfway between the two
 * integers around it; undefined for one that does. Decided exactly from the literal's digits and
 * exponent, never from the double JSON.parse rounds it to: `1.0`, `1e2`, `100.000`, `1.5e1` and
 * `9007199254740993` are integers; `99.9999999999999999` (→ 99.5), `1.00000000000000001` (→ 1.5)
 * and `-1e-400` (→ -0.5), which JSON.parse reads as 100, 1 and -0, are not. Text that is not a
 * number literal counts as an integer (undefined). Past 2^52 the halfway number is no double and
 * rounds to an integer.
 */
export function halfwayAround(source: string): number | undefined {
  const parts = numberLiteral.exec(source)
  if (!parts) return undefined
  const [, sign, integer = '', fraction = '', exponent] = parts
  const digits = integer + fraction
  // Trailing zeros say nothing about whether it is an integer: 100.000 is 100000e-3.
  let end = digits.length
  while (end > 0 && digits.charCodeAt(end - 1) === 0x30) end--
  if (end === 0) return undefined // zero, however written
  // Where the decimal point falls in `digits`. An exponent too long to be exact
  // (`1e-99999999999999999999`) is only ever compared with the digits' length, far smaller.
  const point = integer.length + (exponent === undefined ? 0 : Number(exponent))
  // An integer when every digit but the trailing zeros is left of the point.
  if (point >= end) return undefined
  const below = point <= 0 ? 0 : Number(digits.slice(0, point))
  return (sign === '-' ? -1 : 1) * (below + 0.5)
}

/**
 * A reviver that hands the schema, in place of an integer JSON.parse rounded from a literal that
 * is not one (`"quantity": 99.9999999999999999` read as 100), the number halfway between the two
 * integers around the literal (99.5): refused where the schema wants an integer with the same
 * sentence as `1.5`, and on the same side of every integer minimum and maximum as the literal.
 * Every other value passes through as parsed; a non-integer double is refused by the schema
 * already. No request field takes a number that is not an integer (docs/api.md, "What is accepted").
 */
const exactIntegers: Reviver = (_key, value, context) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || context?.source === undefined) {
    return value
  }
  const halfway = halfwayAround(context.source)
  // Past 2^52 (no integer field goes near: the largest maximum is 10,000,000 cents) the parsed
  // value stays, and the field's maximum refuses it.
  return halfway === undefined || Number.isInteger(halfway) ? value : halfway
}

/**
 * The reviver a JSON text needs: `reviver` (the body's other checks, or none), followed by
 * `exactIntegers` when the text has a number literal with a fraction or an exponent (`fractions`,
 * from scanJson in json-keys.ts, which looks outside strings only). A body without one (an order
 * of integers and words, `"12.5 Main St"` included) gets no reviver's walk for it.
 */
export function withExactIntegers(fractions: boolean, reviver?: Reviver): Reviver | undefined {
  if (!fractions) return reviver
  if (reviver === undefined) return exactIntegers
  return function (this: unknown, key, value, context) {
    return exactIntegers.call(this, key, reviver.call(this, key, value, context), context)
  }
}
