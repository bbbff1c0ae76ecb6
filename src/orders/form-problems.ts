/**
 * What POST /orders answers a program (a client whose Accept ranks application/json above
 * text/html) where a browser gets the form again but the form could not tell a program what to
 * fix: a form with a field that is not text, and no form at all. Problem details (RFC 9457),
 * as the API answers its refused bodies; every other refusal is the form, whatever Accept says.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { prefersJson } from '../plugins/accept.ts'
import { sendProblem } from '../plugins/errors.ts'
import { FormTextError } from '../plugins/form-text.ts'
import { type ProblemError, pointerSegment } from '../plugins/problems.ts'
import { quotedKey } from '../validation.ts'

/** The detail of a POST /orders without a form, to a program: what to send instead. */
export const noFormDetail =
  "The body is empty; this request needs one: send the order form's fields as application/x-www-form-urlencoded, or JSON to POST /api/orders."

// Requests that came without a form: no body (none, an empty one of any type, JSON of
// whitespace only: body-parsers.ts) or one without a field; the route's preValidation makes
// that an empty form, which the schema then refuses field by field.
const formless = new WeakSet<FastifyRequest>()

/** Notes whether `request` came without a form; call before preValidation fills in the body. */
export function noteFormless(request: FastifyRequest): void {
  const body = request.body
  const empty = typeof body === 'object' && body !== null && Object.keys(body).length === 0
  if (body === undefined || empty) formless.add(request)
}

/** One `errors` entry per field that is not text, by JSON Pointer (a field's name: the form). */
function unreadableEntries(err: FormTextError): ProblemError[] {
  const entries = [...err.unreadable].map((field) => ({
    pointer: `/${pointerSegment(field)}`,
    detail: `The field ${quotedKey(field)} is not valid ${err.encoding} text.`,
  }))
  if (err.unreadableName) {
    entries.push({ pointer: '', detail: `A field name is not valid ${err.encoding} text.` })
  }
  return entries
}

/**
 * Answers a program's POST /orders as problem details when `err` is a form that is not text
 * (400 `validation`, the fields named in `detail` and `errors`), or, with no `err`, when the
 * request came without a form (400 `bad-request`, noFormDetail). Returns undefined, sending
 * nothing, for a browser and for anything else: the form page is their answer.
 */
export function formProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  err?: unknown,
): FastifyReply | undefined {
  if (!prefersJson(request.headers.accept)) return undefined
  if (err instanceof FormTextError) {
    const errors = unreadableEntries(err)
    return sendProblem(request, reply, 400, err.message, { kind: 'validation', errors })
  }
  if (err !== undefined || !formless.has(request)) return undefined
  // As the API answers a body it needs and did not get (errors.ts): `bad-request`, no `errors`.
  return sendProblem(request, reply, 400, noFormDetail)
}
