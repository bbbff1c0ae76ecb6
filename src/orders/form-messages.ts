/** What the order form says by a field the schema refused. */
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import { emailMessage, emailRule } from '../email.ts'
import type { AdminProduct } from '../products/schemas.ts'
import { describe } from '../validation.ts'
import { damagedForm, labels, quantityLabel } from './form-values.ts'

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
    const typed = String((body as { email?: unknown }).email ?? '')
    return typed === '' ? 'Enter your e-mail address.' : emailMessage(typed)
  }
  return `${label} ${describe(error)}.`
}
