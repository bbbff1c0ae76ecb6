import type { FastifySchemaValidationError } from 'fastify'
import { describe, fieldName, markTypedLengths } from '../validation.ts'

/** The order page's typed fields, by the names its shipping form sends them under. */
const fieldLabels: Record<string, string> = {
  carrier: 'Carrier',
  trackingNumber: 'Tracking number',
  note: 'Note',
}
export const damagedForm = 'This form is damaged; reload the page and try again.'
/** The alert's first line above the list of the typed fields' mistakes. */
export const notChanged = 'The order was not changed:'

/**
 * The typed fields' mistakes in the page's order (carrier, tracking number, note), one message
 * each: every field the schema refused, and when shipping, each of carrier and tracking number
 * the form did not send, so two wrong fields are both said in one round. Undefined when a field
 * nobody types (`to`, `version`, `_csrf`) is wrong: the form is damaged.
 */
export function fieldErrors(
  validation: readonly FastifySchemaValidationError[] | undefined,
  body: Record<string, unknown> | undefined,
): Record<string, string> | undefined {
  const found: Record<string, string> = {}
  // A text that fits as typed but not in NFC, as stored: its message says so.
  markTypedLengths(validation, body)
  for (const e of validation ?? []) {
    const field = fieldName(e)
    if (!fieldLabels[field]) return undefined
    found[field] ??= `${fieldLabels[field]} ${describe(e)}.`
  }
  if (body?.to === 'shipped') {
    for (const field of ['carrier', 'trackingNumber'])
      if (body[field] === undefined) found[field] ??= `${fieldLabels[field]} is needed to ship.`
  }
  const errors: Record<string, string> = {}
  for (const field of Object.keys(fieldLabels)) if (found[field]) errors[field] = found[field]
  return errors
}
