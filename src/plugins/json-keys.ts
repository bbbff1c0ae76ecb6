import { BodyError } from './body-rules.ts'

/**
 * How deep a JSON body's objects and arrays may nest (`{"a":1}` is 1 deep, `{"items":[{}]}` 3).
 * The service's deepest body is 3; anything past this is refused where bodies are parsed, so no
 * walk over a parsed body (the back office's check for unstorable strings, JSON.parse's reviver)
 * ever meets a value deep enough to overflow the stack (a 2,500-deep body was a 500 there).
 */
export const maxJsonDepth = 32

/**
 * What one scan of a JSON text finds: `tooDeep` when its objects and arrays nest deeper than
 * `maxDepth` (the scan stops there), else `duplicate`, the first name that appears twice in one
 * object (undefined when none does), and `fractions`, whether a number has a fraction or an
 * exponent (`1.5`, `1e2`; json-numbers.ts checks those). RFC 8259 §4: names SHOULD be unique, and
 * a parser's behaviour with duplicates is unpredictable; JSON.parse keeps the last value, silently.
 * Only strings, braces, brackets, commas and the `.`, `e` or `E` after a digit are read: one pass
 * that jumps from quote to quote (indexOf), no second parse; an order's body takes about a fifth
 * of its JSON.parse (docs/benchmarks.md). It runs before JSON.parse (whose reviver recurses), so `text` may be
 * any text: the depth counts brackets outside strings, and a duplicate it reports in text that
 * is not JSON means nothing (JSON.parse refuses that text).
 */
export function scanJson(
  text: string,
  maxDepth = maxJsonDepth,
): { tooDeep: true } | { tooDeep: false; duplicate: string | undefined; fractions: boolean } {
  // The names seen in each open object; null for an open array. A Set, not an array: a 64 KiB
  // body of ~6,600 names made an array's includes() quadratic (565 ms a request).
  const open: (Set<string> | null)[] = []
  let duplicate: string | undefined
  let fractions = false
  let nameNext = false
  let i = 0
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      const end = closingQuote(text, i)
      // After a duplicate only the depth is still wanted.
      if (nameNext && duplicate === undefined) {
        const name = unescaped(text.slice(i, end + 1))
        const names = open[open.length - 1]
        if (names?.has(name)) duplicate = name
        names?.add(name)
      }
      nameNext = false
      i = end + 1
      continue
    }
    if (c === 0x7b || c === 0x5b) {
      if (open.length === maxDepth) return { tooDeep: true }
      open.push(c === 0x7b ? new Set() : null)
      nameNext = c === 0x7b
    } else if (c === 0x7d || c === 0x5d) open.pop()
    else if (c === 0x2c) nameNext = open[open.length - 1] != null
    // `.`, `e` or `E` after a digit: a number with a fraction or an exponent (not true or false).
    else if ((c === 0x2e || (c | 0x20) === 0x65) && isDigit(text.charCodeAt(i - 1)))
      fractions = true
    i++
  }
  return { tooDeep: false, duplicate, fractions }
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39

/** A quoted JSON string's text; in text that is not JSON, its raw characters. */
function unescaped(quoted: string): string {
  const raw = quoted.slice(1, -1)
  if (!raw.includes('\\')) return raw
  try {
    return JSON.parse(quoted) as string
  } catch {
    return raw // not JSON: JSON.parse refuses the whole text, so this name is never reported
  }
}

/** The index of the quote that closes the string opening at `start` (one preceded by an even run of backslashes). */
function closingQuote(text: string, start: number): number {
  let end = text.indexOf('"', start + 1)
  while (end !== -1) {
    let slashes = 0
    while (text.charCodeAt(end - 1 - slashes) === 0x5c) slashes++
    if (slashes % 2 === 0) return end
    end = text.indexOf('"', end + 1)
  }
  return text.length
}

/**
 * A JSON.parse reviver refusing a body with a key that rewrites objects' prototypes (parseJson,
 * body-parsers.ts): `__proto__`, or `constructor` holding `prototype`.
 * @throws BodyError 400 BODY_PROTOTYPE_KEY, naming the key.
 */
export function refusePrototypeKeys(this: unknown, key: string, value: unknown): unknown {
  if (key === '__proto__') {
    throw new BodyError(
      400,
      'BODY_PROTOTYPE_KEY',
      'The body has a "__proto__" key, which this service refuses: it can change how a JavaScript program reads the rest of the body. Send the body without it.',
    )
  }
  if (
    key === 'constructor' &&
    value !== null &&
    typeof value === 'object' &&
    'prototype' in value
  ) {
    throw new BodyError(
      400,
      'BODY_PROTOTYPE_KEY',
      'The body has a "constructor" key holding a "prototype" key, which this service refuses: it can change how a JavaScript program reads the rest of the body. Send the body without it.',
    )
  }
  return value
}
