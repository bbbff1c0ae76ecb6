/** Percent-decoding a form's components, and a form read again when one is not text. */
import type { TextDecoder } from 'node:util'
import { givenTwice } from '../validation.ts'
import { BodyError } from './body-rules.ts'

/** The value of an ASCII hex digit's byte, or -1 for any other byte (or none). */
function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30
  const lower = byte | 0x20
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1
}

/**
 * The bytes a form component stands for: `+` is a space and `%XX` the byte XX; a `%` not followed
 * by two hex digits stays as it is (the WHATWG URL Standard's percent-decode).
 */
export function percentDecode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length)
  let n = 0
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number
    if (byte === 0x2b) out[n++] = 0x20
    else if (byte === 0x25) {
      const high = hexValue(bytes[i + 1])
      const low = hexValue(bytes[i + 2])
      if (high >= 0 && low >= 0) {
        out[n++] = high * 16 + low
        i += 2
      } else out[n++] = byte
    } else out[n++] = byte
  }
  return out.subarray(0, n)
}

/**
 * Calls `each` with every `name=value` pair of an urlencoded body, in order, as raw (still
 * percent-encoded) bytes: `value` undefined for a pair without `=`; empty pairs (`a&&b`) skipped.
 */
export function forEachPair(
  body: Uint8Array,
  each: (name: Uint8Array, value: Uint8Array | undefined) => void,
): void {
  for (let start = 0; start <= body.length; ) {
    let end = body.indexOf(0x26, start)
    if (end === -1) end = body.length
    const pair = body.subarray(start, end)
    start = end + 1
    if (pair.length === 0) continue
    const eq = pair.indexOf(0x3d)
    each(eq === -1 ? pair : pair.subarray(0, eq), eq === -1 ? undefined : pair.subarray(eq + 1))
  }
}

/**
 * The 400 BODY_INVALID_TEXT of a form whose field (a name or a value) is not text in its charset,
 * with what the form holds besides, so a page can show it again with what was typed kept
 * (the order form does: src/orders/form-messages.ts; so does every staff form that shows its
 * refusals: src/input-guards.ts, readableFields). Any other route answers it as the BodyError it
 * is, its message naming the first such field.
 */
export class FormTextError extends BodyError {
  /**
   * The fields as parseForm reads them (a field given twice a `givenTwice` list), a value that
   * is not text being '' here.
   */
  readonly fields: Record<string, string | string[]>
  /** The names whose value (one of them, when given twice) is not text. */
  readonly unreadable: ReadonlySet<string>
  /** Whether a field's name is not text: that field is left out of `fields`. */
  readonly unreadableName: boolean
  /** The character set the form was read in (`UTF-8`, `WINDOWS-1252`…), for messages. */
  readonly encoding: string

  constructor(
    message: string,
    fields: Record<string, string | string[]>,
    unreadable: ReadonlySet<string>,
    unreadableName: boolean,
    encoding: string,
  ) {
    super(400, 'BODY_INVALID_TEXT', message)
    this.fields = fields
    this.unreadable = unreadable
    this.unreadableName = unreadableName
    this.encoding = encoding
  }
}

/**
 * `refusal` (parseForm's BODY_INVALID_TEXT for `body`) as a FormTextError: the form read again
 * with `decoder`, every component on its own, noting which are not text. Only a refused form
 * gets this second pass; a valid one is read once.
 */
export function formTextError(
  refusal: BodyError,
  body: Buffer,
  decoder: TextDecoder,
): FormTextError {
  // Inheriting nothing: a field named `__proto__` is a field, as in parseForm's.
  const fields: Record<string, string | string[]> = Object.create(null)
  const unreadable = new Set<string>()
  let unreadableName = false
  const decode = (raw: Uint8Array) => {
    try {
      return decoder.decode(percentDecode(raw))
    } catch {
      return undefined
    }
  }
  forEachPair(body, (rawName, rawValue) => {
    const name = decode(rawName)
    if (name === undefined) {
      unreadableName = true
      return
    }
    const value = rawValue === undefined ? '' : decode(rawValue)
    if (value === undefined) unreadable.add(name)
    // Repeats kept as parseForm keeps them: a staff page's checkboxes come back as ticked, and
    // its schema still says a field given twice (src/input-guards.ts, readableFields).
    const seen = fields[name]
    if (seen === undefined) fields[name] = value ?? ''
    else if (Array.isArray(seen)) seen.push(value ?? '')
    else fields[name] = givenTwice([seen, value ?? ''])
  })
  const encoding = decoder.encoding.toUpperCase()
  return new FormTextError(refusal.message, fields, unreadable, unreadableName, encoding)
}
