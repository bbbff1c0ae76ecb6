/** What the order form says by a field the schema refused. */
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import { emailMessage, emailRule } from '../email.ts'
import { FormTextError } from '../plugins/form-text.ts'
import type { AdminProduct } from '../products/schemas.ts'
import { describe } from '../validation.ts'
import { zipStateMismatch } from '../zip-prefixes.ts'
import {
  damagedForm,
  type FormLine,
  type FormState,
  labels,
  quantityLabel,
  shown,
  typedValues,
} from './form-values.ts'
import { linesProblem, orderLimits } from './limits.ts'
import {
  formPriceKey,
  formQuantityKey,
  formQuantityMessage,
  formStrayQuantityKey,
  validKey,
} from './schemas.ts'

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
  // The form's state is a list whose first choice, "Choose…", is empty: its shopper picks a
  // name, and the schema's sentence about 2-letter codes is for API clients, who type one.
  if (field === 'state' && String((body as { state?: unknown }).state ?? '').trim() === '') {
    return 'Choose your state.'
  }
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

/**
 * Sets the messages for what the form's `lines` (formLines) break of the order limits
 * (limits.ts), `products` the form's: each quantity over the limit by its field; then, unless a
 * quantity field has a message already, no product chosen, more than maxLines products the form
 * shows, one product's fields over the limit together, or two prices for one product (no page
 * writes that: the form is damaged).
 */
export function linesMessages(
  lines: readonly FormLine[],
  products: readonly AdminProduct[],
  errors: Record<string, string>,
): void {
  const overLimit = (field: string) => `${quantityLabel(products, field)} ${formQuantityMessage}.`
  for (const { field, quantity } of lines) {
    if (quantity > orderLimits.maxLineQuantity) errors[field] ??= overLimit(field)
  }
  const quantityField = (f: string) => formQuantityKey.test(f) || formStrayQuantityKey.test(f)
  if (Object.keys(errors).some(quantityField)) return
  const problem = linesProblem(lines)
  if (problem?.kind === 'no-lines') {
    errors.items = 'Choose at least one product: give it a quantity of 1 or more.'
  } else if (problem?.kind === 'too-many-lines') {
    // Counted over the products the form shows: a field naming another SKU (an edited or old
    // form) is no product the shopper chose, and "you chose 21" would not be true.
    const onForm = linesProblem(lines.filter((l) => shown(products, l.field)))
    errors.items =
      onForm?.kind === 'too-many-lines'
        ? `An order can hold at most ${orderLimits.maxLines} products; you chose ${onForm.lines}.`
        : 'Choose a product from the list.'
  } else if (problem?.kind === 'price-conflict') {
    errors.idempotencyKey ??= damagedForm
  } else if (problem?.kind === 'line-over') {
    for (const line of lines)
      if (line.sku === problem.sku) errors[line.field] = overLimit(line.field)
  }
}

/**
 * The order form to show again (400) when the body parser refused it because a field's bytes are
 * not text in its charset (FormTextError, e.g. `name=%FF`), as any other invalid field is shown:
 * what the other fields hold kept, the unreadable one emptied with a message by it (a hidden
 * field, or a field's name, damages the form). Undefined for any other error. A client that
 * prefers JSON (a program) is answered before this, with problem details (form-problems.ts).
 * `products` gives the catalogue that names a quantity.
 */
export async function unreadableForm(
  err: unknown,
  products: () => Promise<readonly AdminProduct[]>,
): Promise<FormState | undefined> {
  if (!(err instanceof FormTextError)) return undefined
  const values = typedValues(err.fields)
  const errors: Record<string, string> = {}
  for (const field of err.unreadable) {
    if (field === 'idempotencyKey' || formPriceKey.test(field)) errors.idempotencyKey = damagedForm
    else if (Object.hasOwn(labels, field) || formQuantityKey.test(field)) {
      // The database down: the quantity named by its SKU, the form shown all the same.
      const label = labels[field] ?? quantityLabel(await products().catch(() => []), field)
      errors[field] = `${label} could not be read as text; please type it again.`
    }
  }
  const key = errors.idempotencyKey ? undefined : values.idempotencyKey
  // A field's name, or a field the form does not have, that is not text: no field to mark.
  const notice =
    err.unreadableName || Object.keys(errors).length === 0
      ? 'Part of this form could not be read as text; please check it and send it again.'
      : undefined
  return { values, errors, notice, idempotencyKey: key && validKey.test(key) ? key : undefined }
}
