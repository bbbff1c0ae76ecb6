/** What the order form says by a field the schema refused. */
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import { emailFault, emailRule, maxEmailLength, maxLocalPart } from '../email.ts'
import type { AdminProduct } from '../products/schemas.ts'
import { describe } from '../validation.ts'
import { damagedForm, labels, quantityLabel } from './form-values.ts'

/**
 * The e-mail field's message for `typed` (trimmed), saying what is wrong with it (emailFault):
 * nothing typed, too long, two @, a space, too much or not ASCII before the @, a domain not in
 * ASCII (its xn-- form suggested), or not an address at all.
 */
export function emailMessage(typed: string): string {
  if (typed === '') return 'Enter your e-mail address.'
  const fault = emailFault(typed)
  switch (fault.kind) {
    case 'too-long':
      return `Enter an e-mail address of at most ${maxEmailLength} characters.`
    case 'at-signs':
      return 'Enter an e-mail address with one @, like name@example.com.'
    case 'spaces':
      return 'Enter an e-mail address without spaces, like name@example.com.'
    case 'local-not-ascii':
      return 'Enter an e-mail address with only ASCII characters before the @.'
    case 'local-too-long':
      return `Enter an e-mail address with at most ${maxLocalPart} characters before the @.`
    case 'domain-not-ascii':
      return `Enter the domain in its ASCII form: ${fault.ascii} for ${fault.domain}.`
    case 'shape':
      return 'Enter an e-mail address like name@example.com.'
  }
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
  const custom = (error as { parentSchema?: { errorMessage?: string } }).parentSchema?.errorMessage
  if (field === 'email' && custom === emailRule && describe(error) !== 'must be given once') {
    return emailMessage(String((body as { email?: unknown }).email ?? ''))
  }
  return `${label} ${describe(error)}.`
}
