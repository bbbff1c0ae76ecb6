import { isAscii } from 'node:buffer'
import { MIMEType, TextDecoder } from 'node:util'
import { errorCodes, type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { readableFields } from '../input-guards.ts'
import { givenTwice, quotedKey } from '../validation.ts'
import { BodyError, formsOnly, jsonOnly, unsupportedMediaType } from './body-rules.ts'
import { FormTextError, forEachPair, formTextError, percentDecode } from './form-text.ts'
import { maxJsonDepth, refusePrototypeKeys, scanJson } from './json-keys.ts'
import { withExactIntegers } from './json-numbers.ts'

// BodyError lives with the body rules (body-rules.ts); hooks that refuse bodies import it here too.
export { BodyError }

/** The request's declared charset, lower-cased, or undefined when it declares none. */
function declaredCharset(request: FastifyRequest): string | undefined {
  const header = request.headers['content-type']
  if (!header) return undefined
  // No parameters, so no charset: the common case, without parsing the header.
  if (!header.includes(';')) return undefined
  try {
    return new MIMEType(header).params.get('charset')?.toLowerCase()
  } catch {
    return undefined // Fastify matched a parser, so the media type itself was readable
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
// A form's names and values keep a leading U+FEFF: the WHATWG URL Standard's
// application/x-www-form-urlencoded parser decodes "UTF-8 without BOM" (a BOM-stripping decode
// read `%EF%BB%BFqty-MUG-001` as the field `qty-MUG-001`). JSON ignores one (RFC 8259 §8.1).
const utf8Form = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * The decoder for a form's declared charset (the WHATWG Encoding Standard's labels, so
 * `ISO-8859-1` is windows-1252 as in every browser; none declared: UTF-8, the encoding of the
 * service's pages). Decoding is fatal: a byte sequence the charset does not define is refused,
 * never replaced by U+FFFD.
 * @throws BodyError 415 for a charset Node does not know or one that is not ASCII-compatible
 *   (UTF-16: its `&`, `=` and `%` are not single bytes, so the form cannot even be split).
 */
function formDecoder(charset: string | undefined): TextDecoder {
  // decode() without { stream: true } keeps no state between calls: one decoder serves all.
  if (charset === undefined) return utf8Form
  let decoder: TextDecoder
  try {
    decoder = new TextDecoder(charset, { fatal: true, ignoreBOM: true })
  } catch {
    throw new BodyError(
      415,
      'BODY_UNKNOWN_CHARSET',
      `This service cannot read a form in the character set "${charset}". Send it as UTF-8.`,
    )
  }
  if (decoder.encoding.startsWith('utf-16')) {
    throw new BodyError(
      415,
      'BODY_UNKNOWN_CHARSET',
      `A form cannot be sent in ${decoder.encoding.toUpperCase()}. Send it as UTF-8.`,
    )
  }
  return decoder
}

/**
 * A parsed form: it inherits nothing (an empty prototype without one, as node:querystring's), so
 * `__proto__` or `toString` is just a field, and asking it for a name it lacks is undefined. Not
 * Object.create(null), a hash table in V8 from the start: a short form keeps one fast shape. The
 * order form (past ~20 fields) becomes one all the same; a Map made an object at the end cost more.
 */
type Fields = Record<string, string | string[]>
const FormFields = function FormFields() {} as unknown as new () => Fields
FormFields.prototype = Object.create(null)

/**
 * An `application/x-www-form-urlencoded` body as `{name: value | value[]}` (inheriting nothing,
 * see FormFields: a field named `__proto__` is just a field), each name and value decoded from the
 * request's declared charset (the WHATWG URL Standard's urlencoded parser, except that a byte
 * sequence the charset does not define is refused instead of becoming U+FFFD).
 * @throws BodyError 415 for a charset it cannot decode; FormTextError (a 400 BodyError) naming
 *   the first field whose bytes are not text in that charset, with the fields that are.
 */
export function parseForm(body: Buffer, charset: string | undefined): Record<string, unknown> {
  try {
    return readForm(body, charset)
  } catch (err) {
    // Read again, each field on its own, only once refused: a page can show the form again.
    if (err instanceof BodyError && err.code === 'BODY_INVALID_TEXT') {
      throw formTextError(err, body, formDecoder(charset))
    }
    throw err
  }
}

/** parseForm's one pass, stopping at the first field that is not text (a BodyError). */
function readForm(body: Buffer, charset: string | undefined): Record<string, unknown> {
  const fields = new FormFields()
  // Nothing to decode: an empty form is one whatever charset it declares.
  if (body.length === 0) return fields
  const decoder = formDecoder(charset)
  // A field given twice is a list marked as such (validation.ts): "must be given once" where
  // its schema takes one value. Appended in place: a copy per value was quadratic.
  const add = (name: string, value: string) => {
    // An own name asked for: one it lacks (nearly all) is not looked for in its prototypes.
    const seen = Object.hasOwn(fields, name) ? fields[name] : undefined
    if (seen === undefined) fields[name] = value
    else if (Array.isArray(seen)) seen.push(value)
    else fields[name] = givenTwice([seen, value])
  }
  // ASCII bytes in UTF-8 are those characters, so such a form (what a browser posts: ASCII but
  // for `%XX`) is split as a string and only its components with a `%` are decoded as bytes.
  // Scanned in place, not split: no array and no string per pair, only its name and value.
  if (decoder.encoding === 'utf-8' && isAscii(body)) {
    const text = body.toString('latin1')
    // The next `=` from `start` on (none: the text's length), looked for again only once passed:
    // pairs without one (`a&b&c...`) must not each scan the rest of the body, which is quadratic.
    let eq = -1
    for (let start = 0; start < text.length; ) {
      let end = text.indexOf('&', start)
      if (end === -1) end = text.length
      if (end > start) {
        if (eq < start) {
          eq = text.indexOf('=', start)
          if (eq === -1) eq = text.length
        }
        const split = eq < end
        const name = asciiText(decoder, text.slice(start, split ? eq : end), undefined)
        add(name, split ? asciiText(decoder, text.slice(eq + 1, end), name) : '')
      }
      start = end + 1
    }
    return fields
  }
  forEachPair(body, (rawName, rawValue) => {
    const name = decodeText(decoder, rawName, undefined)
    add(name, decodeText(decoder, rawValue ?? rawName.subarray(rawName.length), name))
  })
  return fields
}

/** decodeText of an ASCII component of a UTF-8 form, given as text: the same string. */
function asciiText(decoder: TextDecoder, raw: string, field: string | undefined): string {
  if (raw.includes('%')) return decodeText(decoder, Buffer.from(raw, 'latin1'), field)
  return raw.includes('+') ? raw.replaceAll('+', ' ') : raw
}

function decodeText(decoder: TextDecoder, raw: Uint8Array, field: string | undefined): string {
  try {
    return decoder.decode(percentDecode(raw))
  } catch {
    const where = field === undefined ? 'A field name' : `The field ${quotedKey(field)}`
    throw new BodyError(
      400,
      'BODY_INVALID_TEXT',
      `${where} is not valid ${decoder.encoding.toUpperCase()} text, so it cannot be read. Please check it and send the form again.`,
    )
  }
}

/**
 * A JSON body (RFC 8259: UTF-8, a leading BOM ignored), refused whole, never cleaned, when any
 * object in it has a `__proto__` key or a `constructor` key holding `prototype`: a careful
 * client never sends one, and removing it would act on a body other than the one sent.
 * A number written as a non-integer that JSON.parse would round to an integer
 * (`1.00000000000000001`) is read as a non-integer, for the schema to refuse (json-numbers.ts).
 * An empty body, or one of JSON's whitespace only, is undefined, as if none were sent.
 * @throws BodyError 415 for a declared charset other than UTF-8; 400 for bytes that are not
 *   UTF-8, objects and arrays nested deeper than `maxJsonDepth`, text that is not JSON, a
 *   prototype key or a name given twice in one object (each with its own sentence).
 */
export function parseJson(body: Buffer, charset: string | undefined): unknown {
  // An empty body is no body (clients that always send a JSON content type): a route that takes
  // none goes on, one that needs one refuses it in validation (src/validation.ts).
  if (body.length === 0) return undefined
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new BodyError(
      415,
      'BODY_UNKNOWN_CHARSET',
      `JSON is always UTF-8; this body declares the character set "${charset}". Send it as UTF-8.`,
    )
  }
  let text: string
  try {
    text = utf8.decode(body)
  } catch {
    throw new BodyError(400, 'BODY_INVALID_TEXT', 'The body is not valid UTF-8 text.')
  }
  // One scan before parsing: a body nested deeper than any the service takes is refused here,
  // for every JSON route, before JSON.parse's reviver or any later walk recurses through it.
  const scan = scanJson(text)
  if (scan.tooDeep) {
    throw new BodyError(
      400,
      'BODY_TOO_DEEP',
      `The body is nested too deeply: this service reads JSON objects and arrays at most ${maxJsonDepth} levels deep.`,
    )
  }
  // A reviver costs a walk over the result: only a text that can spell such a key, or with a
  // number written with a fraction or an exponent (json-numbers.ts), gets one.
  const keys = /__proto__|constructor|\\u/.test(text) ? refusePrototypeKeys : undefined
  const reviver = withExactIntegers(scan.fractions, keys)
  let value: unknown
  try {
    value = JSON.parse(text, reviver)
  } catch (err) {
    if (err instanceof BodyError) throw err
    // Only JSON's whitespace (RFC 8259: space, tab, LF, CR) is no value, as an empty body: looked
    // at here, once JSON.parse has refused it, so a valid body is not scanned for it.
    if (/^[ \t\n\r]*$/.test(text)) return undefined
    throw new BodyError(400, 'BODY_INVALID_JSON', 'The body is not valid JSON.')
  }
  // JSON.parse keeps a repeated name's last value: an order with "items" twice was placed for
  // the second list. Refused instead (the same scan, measured: docs/benchmarks.md).
  if (scan.duplicate !== undefined) {
    throw new BodyError(
      400,
      'BODY_DUPLICATE_NAME',
      `The body gives ${quoteName(scan.duplicate)} twice in one object; send each name once.`,
    )
  }
  return value
}

/** Whether `body` holds no JSON value: none, or JSON's whitespace only (after a BOM). */
function onlyJsonWhitespace(body: Buffer): boolean {
  const bom = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf
  for (let i = bom ? 3 : 0; i < body.length; i++) {
    const byte = body[i]
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return false
  }
  return true
}

/** A name as a message quotes it: JSON-quoted, its first 40 characters. */
const quoteName = (name: string) =>
  JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name)

/**
 * The body parsers: JSON and urlencoded forms, both read as bytes and decoded here (see
 * parseJson, parseForm), so what is stored is what the client typed, or the body is refused
 * with a 4xx that says why; a body of any other type is 415 on every route (docs/api.md,
 * "Bodies"), and an empty one of any type is no body. Pages (outside /api) take forms only, the
 * API (/api) JSON only.
 */
export default fp(
  async (app) => {
    // Only what is parsed here is read: Fastify's defaults also take text/plain as a string,
    // which reached the routes and was refused 400 "body must be object" instead of 415.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      // An empty body is no body, whatever its type and route; so is one of JSON's whitespace
      // only, as parseJson reads it under /api (a page's route that needs a form says it is
      // missing, as for an empty body, rather than 415 for a type that brought no value).
      if (formsOnly(request) && !onlyJsonWhitespace(body as Buffer)) {
        const refusal = new BodyError(415, 'BODY_FORM_ONLY', unsupportedMediaType(request))
        return done(refusal, undefined)
      }
      try {
        done(null, parseJson(body as Buffer, declaredCharset(request)))
      } catch (err) {
        done(err as Error, undefined)
      }
    })
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'buffer' },
      (request, body, done) => {
        // The API reads JSON only (body-rules.ts, jsonOnly); an empty form is no body there, as
        // it is with any type.
        if (jsonOnly(request)) {
          if ((body as Buffer).length === 0) return done(null, undefined)
          const refusal = new BodyError(415, 'BODY_JSON_ONLY', unsupportedMediaType(request))
          return done(refusal, undefined)
        }
        try {
          done(null, parseForm(body as Buffer, declaredCharset(request)))
        } catch (err) {
          // A staff page's form with a field that is not text: its page again, field marked.
          const readable = err instanceof FormTextError ? readableFields(request, err) : undefined
          if (readable) done(null, readable)
          else done(err as Error, undefined)
        }
      },
    )
    // Any other type (or none, with a body): 415. An empty one is no body, as with JSON; an
    // unknown path ignores it and answers 404.
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
      if ((body as Buffer).length === 0 || request.is404) done(null, undefined)
      else done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(), undefined)
    })
  },
  { name: 'body-parsers' },
)
