import type { FastifyReply, FastifyRequest } from 'fastify'
import { blankRepeatsDropped } from '../admin/page-query.ts'
import { pageQueryWords, type RefusedInput, showRefusedInput } from '../admin/refused-input.ts'
import { eventTypes } from '../outbox/events.ts'
import {
  characterCount,
  echoSafe,
  hiddenCharacters,
  isPrintable,
  longerAsStored,
  normaliseText,
} from '../text.ts'
import { adminOnly, registrableUrl } from './admin-routes.ts'
import {
  EndpointForm,
  EndpointParams,
  maxDescription,
  WebhookPageQuery,
  WebhooksPageQuery,
} from './schemas.ts'

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

/**
 * A refused form: the sentence shown by each field refused, all at once (as the order form);
 * `form`: a sentence about no field the page shows (a hidden or hand-made one), in the alert.
 */
export type FormErrors = Partial<
  Record<'url' | 'description' | 'eventTypes' | 'confirm' | 'form' | EndpointButton, string>
>

/**
 * A button of an endpoint's page other than Save changes, whose form's refusal is shown by it:
 * Enable/Disable, Rotate secret, Delete endpoint.
 */
export type EndpointButton = 'enabled' | 'rotate' | 'delete'

/** How the endpoint forms' sentences name their fields (src/admin/refused-input.ts). */
export const endpointFieldWords = {
  url: 'The URL',
  description: 'The description',
  eventTypes: 'The event types',
  enabled: 'Enabled',
  confirm: 'The confirmation box',
}

/**
 * A form refused as sent (a field given twice, over-long, holding a NUL or not text:
 * refused-input.ts) as the pages show it. The endpoint form's (`sent` undefined): the sentence by
 * its field, and what else was typed. A button's form (`sent`: the button, or `page` for one
 * with no place of its own, as Redeliver in a row of deliveries): the sentence by that button
 * (Delete's ticked box by the box), or in the page's alert, the endpoint shown as it is; never
 * in the endpoint form, which was not sent.
 */
export function refusedForm(
  { field, message, kept }: RefusedInput,
  sent?: EndpointButton | 'page',
): { typed?: Typed; errors: FormErrors; message?: string } {
  if (sent === 'page') return { errors: {}, message }
  if (sent === 'delete' && field === 'confirm') return { errors: { confirm: message } }
  if (sent) return { errors: { [sent]: message } }
  if (field === 'url' || field === 'description' || field === 'eventTypes') {
    return { typed: typedOf(kept as EndpointForm), errors: { [field]: message } }
  }
  return { errors: { form: message } }
}

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

type RefusedPage = (
  request: FastifyRequest,
  reply: FastifyReply,
  page: ReturnType<typeof refusedForm>,
) => unknown

/**
 * The route options of the list page (`onList`) and an endpoint's page (`onEndpoint`), and of
 * their forms: a form or address refused as sent (a field or parameter given twice, over-long,
 * holding a NUL or not text: refused-input.ts) is its page again, 400, with refusedForm's
 * sentence and what was typed.
 */
export function endpointForms(onList: RefusedPage, onEndpoint: RefusedPage) {
  const refusals = { attachValidation: true, config: { ...adminOnly, formShowsRefusals: true } }
  const query = { attachValidation: true, config: { ...adminOnly, queryShowsRefusals: true } }
  const shown = (render: RefusedPage, sent?: EndpointButton | 'page') =>
    showRefusedInput({ ...pageQueryWords, ...endpointFieldWords }, (request, reply, refused) =>
      render(request, reply, refusedForm(refused, sent)),
    )
  return {
    listPage: {
      schema: { hide: true, querystring: WebhooksPageQuery },
      ...query,
      preHandler: shown(onList),
    },
    endpointPage: {
      schema: { hide: true, params: EndpointParams, querystring: WebhookPageQuery },
      ...query,
      // "Older deliveries" by the page parameters' rule (src/admin/page-query.ts).
      preValidation: blankRepeatsDropped(['cursor']),
      preHandler: shown(onEndpoint),
    },
    formOptions: {
      schema: { hide: true, body: EndpointForm },
      ...refusals,
      preHandler: shown(onList),
    },
    endpointFormOptions: {
      schema: { hide: true, params: EndpointParams, body: EndpointForm },
      ...refusals,
      preHandler: shown(onEndpoint),
    },
    /** A button's form on an endpoint's page: a refusal is shown by `button` (refusedForm). */
    buttonOptions: (button: EndpointButton | 'page') => ({
      schema: { hide: true, params: EndpointParams, body: EndpointForm },
      ...refusals,
      preHandler: shown(onEndpoint, button),
    }),
  }
}
