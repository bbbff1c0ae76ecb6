import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { eventTypes } from '../outbox/events.ts'
import { sendError } from '../plugins/errors.ts'
import { characterCount, hiddenCharacters, isPrintable, normaliseText } from '../text.ts'
import { registrableUrl, stillPending, unknownDelivery, unknownEndpoint } from './admin-routes.ts'
import type { WebhookAdminOptions } from './plugin.ts'
import {
  deleteEndpoint,
  deliveryId,
  endpointId,
  findEndpoint,
  insertEndpoint,
  listEndpoints,
  recentDeliveries,
  redeliver,
  rotateSecret,
  updateEndpoint,
} from './queries.ts'
import {
  DeliveryParams,
  type Endpoint,
  EndpointForm,
  EndpointParams,
  maxDescription,
  WebhookPageQuery,
  WebhooksPageQuery,
} from './schemas.ts'
import { newSigningSecret } from './secrets.ts'

/** What the form typed, kept when it is refused. */
interface Typed {
  url: string
  description: string
  eventTypes: string[]
}

/** A refused form: the sentence shown by each field refused, all at once (as the order form). */
type FormErrors = Partial<Record<'url' | 'description' | 'eventTypes' | 'confirm', string>>

const asList = (v: string | string[] | undefined) => (v === undefined ? [] : [v].flat())

const typedOf = (body: EndpointForm): Typed => ({
  url: (body.url ?? '').trim(),
  description: normaliseText(body.description ?? ''),
  eventTypes: asList(body.eventTypes),
})

/** Why the event types chosen are refused, or undefined when they are fine. */
function eventsProblem(typed: Typed): string | undefined {
  const known = new Set<string>(eventTypes)
  if (typed.eventTypes.length === 0) return 'Choose at least one event.'
  const unknown = typed.eventTypes.find((t) => !known.has(t))
  return unknown === undefined ? undefined : `There is no event type "${unknown.slice(0, 40)}".`
}

/** Why the description is refused, or undefined when it is fine. */
function descriptionProblem(description: string): string | undefined {
  if (characterCount(description) > maxDescription) {
    return `The description may be ${maxDescription} characters at most.`
  }
  if (!isPrintable(description)) return `The description must not contain ${hiddenCharacters}.`
  return undefined
}

/**
 * The form's fields checked as the API checks them, the URL against the policy; every field's
 * problem at once, so one submit shows them all.
 */
async function checkForm(
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
  const description = descriptionProblem(typed.description)
  if (description) errors.description = description
  const events = eventsProblem(typed)
  if (events) errors.eventTypes = events
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, url }
}

const endpointPath = (id: number) => `/admin/webhooks/${id}`

const adminOnly = { access: 'admin' as const }
const formOptions = { schema: { hide: true, body: EndpointForm }, config: adminOnly }
const endpointFormOptions = {
  schema: { hide: true, params: EndpointParams, body: EndpointForm },
  config: adminOnly,
}

/**
 * The back office's webhook pages (issue 16), admins only, server-rendered without client
 * JavaScript: `/admin/webhooks` lists the endpoints and registers one; `/admin/webhooks/:id`
 * changes, disables, enables, deletes one, rotates its secret, and shows its recent deliveries
 * with a Redeliver button each. A new secret is shown on the page that answers the POST that
 * made it, and never again. Every form posts `_csrf` (checked by src/staff/access.ts).
 */
const webhookAdminPages: FastifyPluginAsyncTypebox<WebhookAdminOptions> = async (
  app,
  { allowLocal },
) => {
  async function renderList(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    page: { typed?: Typed; errors?: FormErrors; deleted?: string },
  ) {
    return reply.code(status).view('admin-webhooks.eta', {
      endpoints: await listEndpoints(app.db),
      eventTypes,
      allowLocal,
      typed: page.typed ?? { url: '', description: '', eventTypes: [] },
      errors: page.errors ?? {},
      deleted: page.deleted,
      csrf: request.staffSession?.csrfSecret,
    })
  }

  async function renderEndpoint(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    endpoint: Endpoint,
    page: {
      typed?: Typed
      errors?: FormErrors
      secret?: string
      notice?: string
      message?: string
    } = {},
  ) {
    return reply.code(status).view('admin-webhook.eta', {
      endpoint,
      deliveries: await recentDeliveries(app.db, endpoint.id),
      eventTypes,
      allowLocal,
      typed: page.typed ?? {
        url: endpoint.url,
        description: endpoint.description,
        eventTypes: endpoint.eventTypes,
      },
      errors: page.errors ?? {},
      secret: page.secret,
      notice: page.notice,
      message: page.message,
      csrf: request.staffSession?.csrfSecret,
    })
  }

  /** The endpoint of `:id`, or undefined after answering 404. */
  async function endpointOr404(request: FastifyRequest, reply: FastifyReply, digits: string) {
    const id = endpointId(digits)
    const endpoint = id && (await findEndpoint(app.db, id))
    if (endpoint) return endpoint
    await sendError(request, reply, 404, unknownEndpoint(digits))
    return undefined
  }

  app.get(
    '/admin/webhooks',
    { schema: { hide: true, querystring: WebhooksPageQuery }, config: adminOnly },
    (request, reply) => renderList(request, reply, 200, { deleted: request.query.deleted }),
  )

  app.post('/admin/webhooks', formOptions, async (request, reply) => {
    const typed = typedOf(request.body)
    const checked = await checkForm(typed, allowLocal)
    if (!checked.ok) return renderList(request, reply, 400, { typed, errors: checked.errors })
    const endpoint = await insertEndpoint(app.db, {
      url: checked.url,
      description: typed.description,
      eventTypes: typed.eventTypes,
      secret: newSigningSecret(),
      createdBy: request.staff?.id ?? null,
    })
    request.log.info(
      { endpointId: endpoint.id, host: new URL(endpoint.url).host, staffId: request.staff?.id },
      'webhook endpoint registered',
    )
    // The secret is on this answer only: not in a redirect's URL, not stored for a later page.
    const { secret, ...shown } = endpoint
    return renderEndpoint(request, reply, 201, shown, {
      secret,
      notice: 'Endpoint registered.',
    })
  })

  app.get(
    '/admin/webhooks/:id',
    {
      schema: { hide: true, params: EndpointParams, querystring: WebhookPageQuery },
      config: adminOnly,
    },
    async (request, reply) => {
      const endpoint = await endpointOr404(request, reply, request.params.id)
      if (!endpoint) return reply
      const { updated, redelivered } = request.query
      const notice =
        updated !== undefined
          ? 'Changes saved.'
          : redelivered !== undefined
            ? `Delivery ${redelivered.replace(/\D/g, '')} will be sent again.`
            : undefined
      return renderEndpoint(request, reply, 200, endpoint, { notice })
    },
  )

  app.post('/admin/webhooks/:id', endpointFormOptions, async (request, reply) => {
    const endpoint = await endpointOr404(request, reply, request.params.id)
    if (!endpoint) return reply
    const typed = typedOf(request.body)
    const checked = await checkForm(typed, allowLocal)
    if (!checked.ok) {
      return renderEndpoint(request, reply, 400, endpoint, { typed, errors: checked.errors })
    }
    await updateEndpoint(app.db, endpoint.id, {
      url: checked.url,
      description: typed.description,
      eventTypes: typed.eventTypes,
    })
    return reply.redirect(`${endpointPath(endpoint.id)}?updated=1`, 303)
  })

  app.post('/admin/webhooks/:id/enabled', endpointFormOptions, async (request, reply) => {
    const { enabled } = request.body
    if (enabled !== 'true' && enabled !== 'false') {
      return sendError(request, reply, 400, 'enabled must be true or false.')
    }
    const id = endpointId(request.params.id)
    const endpoint = id && (await updateEndpoint(app.db, id, { enabled: enabled === 'true' }))
    if (!endpoint) return sendError(request, reply, 404, unknownEndpoint(request.params.id))
    return reply.redirect(`${endpointPath(endpoint.id)}?updated=1`, 303)
  })

  app.post('/admin/webhooks/:id/rotate-secret', endpointFormOptions, async (request, reply) => {
    const id = endpointId(request.params.id)
    const endpoint = id && (await rotateSecret(app.db, id, newSigningSecret()))
    if (!endpoint) return sendError(request, reply, 404, unknownEndpoint(request.params.id))
    request.log.info({ endpointId: id, staffId: request.staff?.id }, 'webhook secret rotated')
    const { secret, ...shown } = endpoint
    return renderEndpoint(request, reply, 200, shown, {
      secret,
      notice: 'New secret made: deliveries from now on are signed with it only.',
    })
  })

  app.post('/admin/webhooks/:id/delete', endpointFormOptions, async (request, reply) => {
    const endpoint = await endpointOr404(request, reply, request.params.id)
    if (!endpoint) return reply
    if (request.body.confirm !== 'yes') {
      const errors = { confirm: 'Tick the box to confirm the deletion.' }
      return renderEndpoint(request, reply, 400, endpoint, { errors })
    }
    await deleteEndpoint(app.db, endpoint.id)
    request.log.info({ endpointId: endpoint.id, staffId: request.staff?.id }, 'webhook deleted')
    return reply.redirect(`/admin/webhooks?deleted=${encodeURIComponent(endpoint.url)}`, 303)
  })

  app.post(
    '/admin/webhooks/:id/deliveries/:deliveryId/redeliver',
    { schema: { hide: true, params: DeliveryParams, body: EndpointForm }, config: adminOnly },
    async (request, reply) => {
      const endpoint = await endpointOr404(request, reply, request.params.id)
      if (!endpoint) return reply
      const delivery = deliveryId(request.params.deliveryId)
      const result = delivery ? await redeliver(app.db, endpoint.id, delivery) : undefined
      if (!result || result.kind === 'not-found') {
        return sendError(request, reply, 404, unknownDelivery(request.params.deliveryId))
      }
      if (result.kind === 'pending') {
        const message = stillPending(result.delivery.id)
        return renderEndpoint(request, reply, 409, endpoint, { message })
      }
      request.log.info(
        { endpointId: endpoint.id, deliveryId: delivery, staffId: request.staff?.id },
        'webhook delivery redelivered',
      )
      return reply.redirect(`${endpointPath(endpoint.id)}?redelivered=${delivery}`, 303)
    },
  )
}

export default webhookAdminPages
