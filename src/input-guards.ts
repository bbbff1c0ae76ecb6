import type { FastifyRequest } from 'fastify'
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import type { FormTextError } from './plugins/form-text.ts'
import { formatSchemaErrors } from './validation.ts'

// Checks of a request's inputs that its schema cannot make: strings PostgreSQL cannot store, a
// staff form's fields that are not text, and headers given more than once. Each refuses with
// the error Fastify's own validation throws, so the error handler answers it like any refused
// field (src/validation.ts words it).

/**
 * Why PostgreSQL cannot store `text` as sent, or undefined when it can: its `text` holds no
 * U+0000 ("invalid byte sequence for encoding "UTF8": 0x00", a 500), and UTF-8 has no lone
 * surrogate (JSON's `"\ud800"`; the driver would write U+FFFD, another string than the one sent).
 */
export function unstorable(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain a NUL character (U+0000)'
  if (!text.isWellFormed()) return 'must not contain half a character (a lone UTF-16 surrogate)'
  return undefined
}

/** `a/b` -> `a~1b`: a key as a JSON Pointer segment (RFC 6901). */
const pointerSegment = (key: string | number) =>
  String(key).replaceAll('~', '~0').replaceAll('/', '~1')

/**
 * Every string in a parsed input (path parameters, query or body: strings, arrays and objects
 * at any depth) that cannot be stored as sent, as the validation errors Ajv would give, each
 * pointing at its value (`/description`, `/eventTypes/0`), in document order. Keys are not
 * checked: no route stores one. A loop over a stack, not recursion: bodies are limited in depth
 * where they are parsed (json-keys.ts), but a walk over a client's value must not be what
 * decides how deep is too deep (2,500 levels overflowed the stack here, a 500).
 */
export function unstorableStrings(value: unknown, at = ''): FastifySchemaValidationError[] {
  const errors: FastifySchemaValidationError[] = []
  const pending: [unknown, string][] = [[value, at]]
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, path] = next
    if (typeof item === 'string') {
      const message = unstorable(item)
      if (message) {
        errors.push({
          keyword: 'storable',
          instancePath: path,
          schemaPath: '#',
          params: {},
          message,
        })
      }
    } else if (item && typeof item === 'object') {
      // Pushed last to first, so the first entry is the next one taken.
      const entries = Object.entries(item)
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown]
        pending.push([child, `${path}/${pointerSegment(key)}`])
      }
    }
  }
  return errors
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route's page form shows its own refused fields (`attachValidation`; the order page's
     * Ship form): a body string that cannot be stored is its refusal too (refuseUnstorableInput).
     */
    formShowsRefusals?: boolean
    /**
     * The route's page shows its own refused query parameters the same way (the sign-in page's
     * `next`): a query string that cannot be stored is its refusal too.
     */
    queryShowsRefusals?: boolean
  }
}

/**
 * A preValidation hook: refuses a request whose path parameters, query or body hold a string
 * that cannot be stored as sent (see `unstorable`), with the error Fastify's own validation
 * makes (400, `validation`, `validationContext`), so the error handler answers it like any
 * refused field: the message names the field, problem details point at it. Before the schema,
 * so that every route gets it whatever its schema says (src/staff/access.ts attaches it to every
 * back-office route). A route whose form shows its refusals (`config.formShowsRefusals`, with
 * `attachValidation`) gets a body's such string as `request.validationError` instead, as if its
 * schema had refused it, so the form comes back with its sentence and what was typed (a bare
 * error page lost both); a schema that refuses the body too replaces it there, so the route
 * also asks unstorableStrings itself. A query likewise, for a route whose page shows its refused
 * query (`config.queryShowsRefusals`, with `attachValidation`: src/admin/refused-input.ts).
 */
export async function refuseUnstorableInput(request: FastifyRequest): Promise<void> {
  for (const [context, value] of [
    ['params', request.params],
    ['querystring', request.query],
    ['body', request.body],
  ] as const) {
    const errors = unstorableStrings(value)
    // A form's field that was not text (readableFields) is refused as if never sent.
    if (context === 'body') errors.unshift(...unreadableFields(request))
    if (errors.length === 0) continue
    const failure = validationFailure(errors, context)
    const { attachValidation, config } = request.routeOptions
    const shown =
      (context === 'body' && config.formShowsRefusals) ||
      (context === 'querystring' && config.queryShowsRefusals)
    if (!attachValidation || !shown) throw failure
    request.validationError = failure
  }
}

/** The error Fastify's own validation throws (see refuseUnstorableInput), for `errors`. */
const validationFailure = (errors: FastifySchemaValidationError[], context: string) =>
  Object.assign(formatSchemaErrors(errors, context), {
    statusCode: 400,
    code: 'FST_ERR_VALIDATION',
    validation: errors,
    validationContext: context,
  })

/**
 * A preValidation hook that refuses a request giving any of `names` (lower-case header names
 * its schema takes one value of) more than once: Node joins such a header's values with ", ",
 * which the schema then refused for its form ("must be 1 to 200 visible ASCII characters")
 * rather than for what is wrong. Answered as a header the schema refused: "must be given once".
 */
export function refuseRepeatedHeaders(...names: string[]) {
  return (request: FastifyRequest, _reply: unknown, done: (err?: Error) => void): void => {
    const raw = request.raw.rawHeaders // name, value, name, value, …
    for (const name of names) {
      const values: string[] = []
      for (let i = 0; i + 1 < raw.length; i += 2) {
        if (raw[i]?.toLowerCase() === name) values.push(raw[i + 1] as string)
      }
      if (values.length < 2) continue
      const error = { keyword: 'type', instancePath: `/${name}`, schemaPath: '#/type', params: {} }
      done(
        validationFailure([{ ...error, data: values } as FastifySchemaValidationError], 'headers'),
      )
      return
    }
    done()
  }
}

/** The forms taken with fields that are not text (readableFields), by request. */
const unreadableForms = new WeakMap<FastifyRequest, FormTextError>()

/**
 * What the form parser goes on with when a form's bytes are not text (`units=%FF`: the
 * FormTextError `refusal`) on a route whose page shows its refusals (`config.formShowsRefusals`,
 * with `attachValidation`): the fields that are text (refusal.fields), so that the CSRF check and
 * the route's page still see the form, and the page comes back, 400, with the field marked and
 * the rest kept, as the shopper's order form does (src/orders/form-messages.ts, unreadableForm).
 * Undefined for any other route, which answers the refusal as the BodyError it is.
 */
export function readableFields(
  request: FastifyRequest,
  refusal: FormTextError,
): Record<string, unknown> | undefined {
  const { attachValidation, config } = request.routeOptions
  if (!attachValidation || !config.formShowsRefusals) return undefined
  unreadableForms.set(request, refusal)
  return refusal.fields
}

/**
 * The body fields of a form taken by readableFields that were not text, as validation errors
 * (keyword `text`, each pointing at its field; a field name that was not text points at the
 * form), empty for any other request. refuseUnstorableInput refuses the body for them; a page
 * that shows a refusal puts them first (src/admin/refused-input.ts), as the schema, refusing
 * another field, replaces that refusal and the field would come back emptied without a word.
 */
export function unreadableFields(request: FastifyRequest): FastifySchemaValidationError[] {
  const refusal = unreadableForms.get(request)
  if (!refusal) return []
  const error = (instancePath: string, message: string): FastifySchemaValidationError => ({
    keyword: 'text',
    instancePath,
    schemaPath: '#',
    params: {},
    message,
  })
  const errors = [...refusal.unreadable].map((name) =>
    error(
      `/${pointerSegment(name)}`,
      'could not be read as text: check it and send the form again',
    ),
  )
  if (refusal.unreadableName) {
    errors.push(error('', 'has a part that could not be read as text: check it and send it again'))
  }
  return errors
}
