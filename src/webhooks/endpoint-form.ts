import { eventTypes } from '../outbox/events.ts'
import {
  characterCount,
  echoSafe,
  hiddenCharacters,
  isPrintable,
  longerAsStored,
  normaliseText,
} from '../text.ts'
import { registrableUrl } from './admin-routes.ts'
import { type EndpointForm, maxDescription } from './schemas.ts'

/**
 * The endpoint form of the back-office pages (admin-pages.ts): what was typed, and its fields
 * checked as the API checks them, every problem at once.
 */

/** What the form typed, kept when it is refused. */
export interface Typed {
  url: string
  description: string
  eventTypes: string[]
  /** The description's characters as typed (trimmed), when NFC made it longer. */
  descriptionTyped?: number
}

/** A refused form: the sentence shown by each field refused, all at once (as the order form). */
export type FormErrors = Partial<Record<'url' | 'description' | 'eventTypes' | 'confirm', string>>

const asList = (v: string | string[] | undefined) => (v === undefined ? [] : [v].flat())

/** The form's fields as typed: the URL trimmed, the description normalised (src/text.ts). */
export function typedOf(body: EndpointForm): Typed {
  const description = normaliseText(body.description ?? '')
  const typed = characterCount((body.description ?? '').trim())
  return {
    url: (body.url ?? '').trim(),
    description,
    eventTypes: asList(body.eventTypes),
    ...(characterCount(description) > typed && { descriptionTyped: typed }),
  }
}

/** Why the event types chosen are refused, or undefined when they are fine. */
function eventsProblem(typed: Typed): string | undefined {
  const known = new Set<string>(eventTypes)
  if (typed.eventTypes.length === 0) return 'Choose at least one event.'
  const unknown = typed.eventTypes.find((t) => !known.has(t))
  return unknown === undefined
    ? undefined
    : `There is no event type "${echoSafe(unknown.slice(0, 40))}".`
}

/** Why the description is refused, or undefined when it is fine. */
function descriptionProblem({ description, descriptionTyped: typed }: Typed): string | undefined {
  const stored = characterCount(description)
  if (stored > maxDescription) {
    const rule = `The description may be ${maxDescription} characters at most`
    // Fitted as typed, not in NFC (as stored): say so, as the API does (validation.ts).
    return `${typed !== undefined && typed <= maxDescription ? longerAsStored(rule, typed, stored) : rule}.`
  }
  if (!isPrintable(description)) return `The description must not contain ${hiddenCharacters}.`
  return undefined
}

/**
 * The form's fields checked as the API checks them, the URL against the policy; every field's
 * problem at once, so one submit shows them all.
 */
export async function checkForm(
  typed: Typed,
  allowLocal: boolean,
): Promise<{ ok: true; url: string } | { ok: false; errors: FormErrors }> {
  const errors: FormErrors = {}
  let url = ''
  if (typed.url === '') errors.url = 'Type the URL events go to.'
  else {
    const checked = await registrableUrl(typed.url, allowLocal)
    if (checked.ok) url = checked.url
    else errors.url = checked.reason
  }
  const description = descriptionProblem(typed)
  if (description) errors.description = description
  const events = eventsProblem(typed)
  if (events) errors.eventTypes = events
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, url }
}
