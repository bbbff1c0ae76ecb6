import { Type } from 'typebox'

/**
 * The one rule for text a person types (name, street address, city, and any free-text field
 * added later), used by the JSON API and the order form alike: what is "printable" is decided by
 * Unicode general categories, not by a list of the characters that have bitten us so far.
 *
 * Refused anywhere in a field (a 400 naming the field):
 * - controls, Cc: C0 (NUL, tab, newline), DEL and C1 (`\u009b`, the one-byte CSI);
 * - format characters, Cf: zero-width space, bidi embeddings, overrides and isolates (Trojan
 *   Source), soft hyphen, word joiner, a BOM inside the text, tag characters;
 * - line and paragraph separators, Zl and Zp;
 * - surrogates, Cs (JSON's lone `\ud800`, which UTF-8 cannot store), private use, Co (a glyph
 *   only some fonts draw), unassigned code points, Cn (nothing draws them);
 * - characters whose category says visible but that draw nothing: the Hangul fillers U+115F,
 *   U+1160, U+3164, U+FFA0 (letters), BRAILLE PATTERN BLANK U+2800 and MUSICAL SYMBOL NULL
 *   NOTEHEAD U+1D159 (symbols). Spaces (U+2000 to U+200A, U+205F, U+3000, NBSP: Zs) are
 *   whitespace, allowed inside text; marks (U+034F, U+17B4) are marks: both are blank alone.
 *
 * Except: ZERO WIDTH JOINER and NON-JOINER (U+200D, U+200C) between two letters, marks or
 * symbols, where they are part of the text: emoji sequences (👩‍👩‍👧), Persian (می‌خواهم),
 * Indic conjuncts (क्‍ष). At an edge, beside a space or alone they are refused like any format
 * character.
 *
 * A field with nothing visible (no letter, digit, punctuation or symbol once whitespace, marks
 * and the characters above are set aside) is refused as blank. Before any of this the value is
 * trimmed (Unicode whitespace, as String.prototype.trim) and put in NFC, and that is what is
 * validated and stored: "  Ada  " is "Ada", and `e` + U+0301 is `é`.
 */
const hidden =
  '\\p{Cc}\\p{Cf}\\p{Cs}\\p{Co}\\p{Cn}\\p{Zl}\\p{Zp}\\u115f\\u1160\\u3164\\uffa0\\u2800\\u{1d159}'
const joinable = '[\\p{L}\\p{M}\\p{S}]'
const joiner = `(?<=${joinable})[\\u200c\\u200d](?=${joinable})`

/** Every character printable (see above); the empty string matches. Ajv compiles it with `u`. */
export const printablePattern = `^(?:[^${hidden}]|${joiner})*$`
/** At least one visible character. */
export const visiblePattern = `[^\\s\\p{M}\\p{Z}${hidden}]`
/** Only whitespace, marks and hidden characters: what `visiblePattern` refuses as blank. */
const blankPattern = `^[\\s\\p{M}\\p{Z}${hidden}]*$`

/** The length sentences of the free-text fields (Text): "must be a name of 1 to 100 characters". */
const lengthSentences = new Set<string>()

/**
 * Whether `sentence` is a free-text field's length sentence: one for text only, so a value that
 * is not text (`5`, `null`, a list) is told "must be text" instead (validation.ts, describe).
 */
export const isTextLengthSentence = (sentence: string): boolean => lengthSentences.has(sentence)

/** What breaking the rule is called in the messages: "must be a note without …". */
export const hiddenCharacters = 'control, invisible or formatting characters'

/**
 * A free-text field's schema: `what` names it in the message ("a name"). Blank (after
 * trimming, or made only of hidden characters) says so, unless `allowBlank` (an optional note,
 * where the empty string means none; hidden characters are still refused); hidden characters
 * say so; too long gets the field's general sentence ("must be a name of 1 to 100 characters"),
 * and a value that is not a string "must be text", as any other field of the wrong type. Each
 * failure gives one message. `description` and `examples` document it (OpenAPI).
 */
export function Text(
  maxLength: number,
  what: string,
  {
    allowBlank = false,
    ...annotations
  }: { allowBlank?: boolean; description?: string; examples?: string[] } = {},
) {
  const hiddenRefused = `must be ${what} without ${hiddenCharacters}`
  const lengthSentence = `must be ${what} of ${allowBlank ? 'at most' : '1 to'} ${maxLength} characters`
  lengthSentences.add(lengthSentence)
  return Type.String({
    ...annotations,
    maxLength,
    errorMessage: lengthSentence,
    allOf: allowBlank
      ? [{ pattern: printablePattern, errorMessage: hiddenRefused }]
      : [
          { pattern: visiblePattern, errorMessage: 'must not be blank' },
          // A blank value is already refused above: one message per failure, not two.
          { pattern: `${blankPattern}|${printablePattern}`, errorMessage: hiddenRefused },
        ],
  })
}

const printable = new RegExp(printablePattern, 'u')

/**
 * Whether every character of `value` is one the rule allows (the empty string is): for values
 * checked by code rather than by a schema (the forms that re-render, the command line).
 */
export const isPrintable = (value: string): boolean => printable.test(value)

/** One character the rule refuses; ZWJ and ZWNJ between letters, marks or symbols excepted. */
const refused = new RegExp(`(?!${joiner})[${hidden}]`, 'gu')

/**
 * `message` with each character the rule refuses written as its code point, `\u{202E}`: how
 * the service's own messages (error pages, JSON problems) show what a client sent, an order
 * number or SKU from the path, a state code, a field's name. Echoed raw, a bidi override turns
 * the rest of the sentence around on the reader's screen (Trojan Source), a zero-width space or
 * a control hides or splits what was sent; escaped, the message names each such character and
 * shows only what the text rule itself allows. Text the rule allows is unchanged (an emoji's
 * joiners too).
 */
export const echoSafe = (message: string): string =>
  message.replace(refused, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16).toUpperCase()}}`)

/** What escapeHtml writes for each character it escapes. */
const htmlEscapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '\0': '\uFFFD',
}
const htmlSpecial = /[&<>"'\0]/
const htmlSpecials = /[&<>"'\0]/g

/**
 * `value` as text in HTML, in an element or a quoted attribute: Eta's escaping (`&`, `<`, `>`,
 * `"`, `'`), and a NUL as U+FFFD, the replacement character an HTML parser puts in its place
 * (a raw NUL is a parse error, and a form shown again echoes whatever was typed, `name=Ada%00`
 * included). The escapeFunction of every page's and e-mail's template (views.ts, mail/render.ts).
 */
export function escapeHtml(value: unknown): string {
  const text = String(value)
  // Tested first: most values have none of them, and replace would build a string anyway.
  return htmlSpecial.test(text) ? text.replace(htmlSpecials, (c) => htmlEscapes[c] as string) : text
}

/**
 * How many characters (code points) `value` has, as the schemas' `maxLength` counts them (Ajv's
 * `unicode` default): `"🔑"` is one, not two UTF-16 units. Every limit in characters uses it.
 */
export function characterCount(value: string): number {
  let count = 0
  for (const _ of value) count++
  return count
}

/**
 * `rule` (a length limit's sentence, without its full stop) said of a value that fitted it as
 * typed (`typed` characters, trimmed) and not in NFC (`stored` characters): so that someone who
 * typed 20 is not told "of 1 to 50 characters" without why.
 */
export const longerAsStored = (rule: string, typed: number, stored: number): string =>
  `${rule} as stored: the ${typed} characters typed become ${stored} in Unicode's standard form (NFC), which writes a few characters as two or three`

/**
 * A typed value as it is validated and stored: each tab a space, trimmed, in NFC. A tab is a
 * space that came with a paste (a spreadsheet's cells, `Ada⇥Lovelace`, which Chromium keeps in a
 * one-line field): refused as a control character, the shopper saw nothing to mend.
 */
export function normaliseText(value: string): string {
  return value.replaceAll('\t', ' ').trim().normalize('NFC')
}

/**
 * The characters typed (trimmed) of each value normaliseFields made longer, by the object that
 * holds it and its field: NFC writes a few characters as two or three code points (U+FB2C, a
 * Hebrew letter, as three), so a value may fit a limit as typed and not as stored.
 */
const typedCounts = new WeakMap<object, Record<string, number>>()

/**
 * Rewrites `target[field]` with `normalisers[field]` for each field it owns. The body is
 * whatever the client sent: a field that is not an own property is left alone, and a value that
 * is not a string is left for the schema to refuse. A value made longer keeps its typed length
 * for the messages (typedCount).
 */
export function normaliseFields(
  target: unknown,
  normalisers: Readonly<Record<string, (value: string) => string>>,
): void {
  if (!target || typeof target !== 'object' || Array.isArray(target)) return
  const record = target as Record<string, unknown>
  for (const [field, normalise] of Object.entries(normalisers)) {
    const value = Object.hasOwn(record, field) ? record[field] : undefined
    if (typeof value !== 'string') continue
    const normal = normalise(value)
    record[field] = normal
    if (normal === value) continue
    const typed = characterCount(value.trim())
    if (characterCount(normal) <= typed) continue
    const counts = typedCounts.get(record) ?? {}
    counts[field] = typed
    typedCounts.set(record, counts)
  }
}

/**
 * How many characters were typed (trimmed) in the value at `instancePath` (a JSON Pointer into
 * `root`, as a schema error gives it) when normaliseFields made that value longer; otherwise
 * undefined.
 */
export function typedCount(root: unknown, instancePath: string): number | undefined {
  const path = instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
  const field = path.pop()
  let holder = root
  for (const p of path) {
    if (!holder || typeof holder !== 'object') return undefined
    holder = Object.hasOwn(holder, p) ? (holder as Record<string, unknown>)[p] : undefined
  }
  if (field === undefined || !holder || typeof holder !== 'object') return undefined
  return typedCounts.get(holder)?.[field]
}
