/** What the order form says by a field the schema refused. */
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import { emailMessage, emailRule } from '../email.ts'
import type { AdminProduct } from '../products/schemas.ts'
import { describe } from '../validation.ts'
import { zipStateMismatch } from '../zip-prefixes.ts'
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

/**
 * Sets `errors.zip` when the form's ZIP, valid as typed, does not exist or is another state's
 * than the one chosen ("ZIP code 10001 is in New York, not California.", zipStateMismatch);
 * `body` the form as posted, after its schema, `errors` the fields' messages so far. A ZIP or
 * state with a message of its own is not compared.
 */
export function checkZipState(body: unknown, errors: Record<string, string>): void {
  // No body at all (none sent, or an empty one of any type) has no ZIP to compare.
  if (typeof body !== 'object' || body === null) return
  const { zip, state } = body as { zip?: unknown; state?: unknown }
  if (errors.zip !== undefined || typeof zip !== 'string') return
  const chosen = errors.state === undefined && typeof state === 'string' ? state : undefined
  const message = zipStateMismatch(zip, chosen)
  if (message !== undefined) errors.zip = message
}
