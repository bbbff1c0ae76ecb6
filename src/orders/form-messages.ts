/** What the order form says by a field the schema refused. */
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import { emailRule, localPartFits, maxEmailLength, maxLocalPart } from '../email.ts'
import type { AdminProduct } from '../products/schemas.ts'
import { describe } from '../validation.ts'
import { damagedForm, labels, quantityLabel } from './form-values.ts'

/**
 * The e-mail field's message for `typed` (trimmed), saying what is wrong with it: nothing typed,
 * too long, too much before the @, or not an address at all. The API keeps the schema's one
 * sentence (emailRule), which names every rule at once.
 */
export function emailMessage(typed: string): string {
  if (typed === '') return 'Enter your e-mail address.'
  if (typed.length > maxEmailLength) {
    return `Enter an e-mail address of at most ${maxEmailLength} characters.`
  }
  if (typed.includes('@') && !localPartFits(typed)) {
    return `Enter an e-mail address with at most ${maxLocalPart} characters before the @.`
  }
  return 'Enter an e-mail address like name@example.com.'
}

/**
 * The message by `field` for the schema's `error`, `body` the form as posted: the form's key
 * damaged, a field missing, the e-mail as emailMessage says, else the field's label and the
 * schema's sentence ("ZIP code must be a 5-digit ZIP code, like 94107 or 94107-1234.").
 */
export function fieldMessage(
  products: readonly AdminProduct[],
  field: string,
  error: FastifySchemaValidationError,
  body: unknown,
): string {
  if (field === 'idempotencyKey') return damagedForm
  const label = labels[field] ?? quantityLabel(products, field)
  if (error.keyword === 'required') return `${label} is required.`
  const sentence = describe(error)
  if (field === 'email' && sentence === emailRule) {
    return emailMessage(String((body as { email?: unknown }).email ?? ''))
  }
  return `${label} ${sentence}.`
}
