import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import { unreadableFields, unstorable } from '../input-guards.ts'
import { describe, fieldName, formatSchemaErrors, significant } from '../validation.ts'

/**
 * The back office's pages answer a form field or query parameter their schema refused (given
 * twice, over-long), that no database can store (a NUL: input-guards.ts) or whose bytes are not
 * text (`%FF`: input-guards.ts, readableFields) with the page itself:
 * the form again with what else was typed, 400, and one sentence naming the field, as the order
 * list does for its filters (filters.ts, refusedListQuery). Never the bare error page, which lost
 * both the form and what was typed. One rule for every staff form (products, staff accounts,
 * webhooks, the password change, sign-in).
 */

/** How a form's sentences name its fields (`price: 'The price'`); a field not listed, by its name. */
export type FieldWords = Readonly<Record<string, string>>

/** The sentence for a field or parameter given more than once (`Status was given twice: choose one.`). */
export const givenTwiceSentence = (words: string) => `${words} was given twice: choose one.`

/** What a page shows for a refused input. */
export interface RefusedInput {
  /** The field the sentence is about, as the form names it (`price`). */
  field: string
  /** One sentence: `The price was given twice: choose one.` */
  message: string
  /**
   * The other fields as typed, each one value that can be stored (a field given twice, refused
   * or holding a NUL is left out; a list field, such as checkboxes, is kept as its list).
   */
  kept: Record<string, string | string[]>
}

/** A validation failure as Fastify attaches it (`request.validationError`). */
type Failure = Error & { validation?: FastifySchemaValidationError[]; validationContext?: string }

const storable = (value: unknown): value is string =>
  typeof value === 'string' && unstorable(value) === undefined

/** `eventTypes[0]` or `url.x` -> the form's field: `eventTypes`, `url`. */
const topField = (name: string) => name.split(/[.[]/)[0] ?? name

/**
 * The refusal of `input` (the body or query the failure is about): its first refused field, the
 * sentence for it (`words` names it), and every other field kept (RefusedInput).
 */
export function refusedInput(failure: Failure, input: unknown, words: FieldWords): RefusedInput {
  const fields = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>
  const errors = significant(failure.validation ?? [], failure.validationContext)
  const refused = new Set(errors.map((e) => topField(fieldName(e))))
  const first = errors[0]
  const field = first ? topField(fieldName(first)) : ''
  const named = words[field] ?? (field || 'This form')
  let message: string
  if (!first) message = `${named} could not be read: reload the page and try again.`
  else if (Array.isArray(fields[field]) && first.keyword === 'type')
    message = givenTwiceSentence(named)
  else message = `${named} ${describe(first, failure.validationContext)}.`
  const kept: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(fields)) {
    if (refused.has(name)) continue
    if (storable(value)) kept[name] = value
    else if (Array.isArray(value) && value.every(storable)) kept[name] = value
  }
  return { field, message, kept }
}

/**
 * `failure` (the request's validation error) with the body's fields that were not text first
 * (input-guards.ts, unreadableFields): when the schema refused another field too, its failure
 * replaced theirs, and those fields, emptied, would come back without their sentence.
 */
function bodyFirst(request: FastifyRequest, failure: Failure | undefined): Failure | undefined {
  const unreadable = unreadableFields(request)
  if (unreadable.length === 0 || failure?.validation?.[0]?.keyword === 'text') return failure
  // A refused path parameter is still the error page: there is no page to show.
  if (failure?.validationContext === 'params') return failure
  const others = failure?.validationContext === 'body' ? (failure.validation ?? []) : []
  const validation = [...unreadable, ...others]
  return Object.assign(formatSchemaErrors(validation, 'body'), {
    validation,
    validationContext: 'body',
  })
}

/**
 * A preHandler for a page route with `attachValidation` and `config.formShowsRefusals` (and
 * `queryShowsRefusals` for its query): a refused body or query is answered by `render` (the page
 * with its form and the RefusedInput, 400); a refused path parameter is the error page still,
 * as there is no page to show for it.
 */
export function showRefusedInput(
  words: FieldWords,
  render: (request: FastifyRequest, reply: FastifyReply, refused: RefusedInput) => unknown,
) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const failure = bodyFirst(request, request.validationError as Failure | undefined)
    if (!failure) return
    const context = failure.validationContext
    if (context !== 'body' && context !== 'querystring') throw failure
    const input = context === 'body' ? request.body : request.query
    return render(request, reply, refusedInput(failure, input, words))
  }
}

/**
 * How the sentences name the back-office pages' query parameters: the notes a page shows after
 * a change (`?done=`, `?updated=`, …: what a 303 added), the sign-in page's, and page links.
 */
export const pageQueryWords: FieldWords = {
  done: 'The note on what was done (done)',
  updated: 'The note on what was updated (updated)',
  deleted: 'The note on what was deleted (deleted)',
  registered: 'The note on what was registered (registered)',
  rotated: 'The note on what was rotated (rotated)',
  overlapEnded: 'The note on the ended overlap (overlapEnded)',
  redelivered: 'The note on what was redelivered (redelivered)',
  cursor: 'The page link (cursor)',
  next: 'The page to go on to (next)',
  ended: 'The note on why you are here (ended)',
}
