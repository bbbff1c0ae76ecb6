import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { eventTypes } from '../outbox/events.ts'
import { sendError } from '../plugins/errors.ts'
import { keepForReveal, takeReveal } from '../staff/secret-reveal.ts'
import { unknownDelivery, unknownEndpoint } from './admin-routes.ts'
import {
  recentDeliveries,
  recentDeliveryCount,
  redeliver,
  redeliveredStatus,
  tooSoon,
} from './deliveries.ts'
import { deliveryPage, encodeDeliveryCursor } from './delivery-pages.ts'
import { checkForm, endpointForms, type FormErrors, type Typed, typedOf } from './endpoint-form.ts'
import { noticeOf } from './page-notices.ts'
import type { WebhookAdminOptions } from './plugin.ts'
import {
  deleteEndpoint,
  deliveryId,
  endpointId,
  findEndpoint,
  listEndpoints,
  signsWith,
} from './queries.ts'
import { DeliveryParams, type Endpoint, EndpointForm } from './schemas.ts'
import { endOverlapOr404, rotateOr404 } from './secret-routes.ts'
import { newSigningSecret, signingSecretReveal } from './secrets.ts'
import { changeEndpoint, registerEndpoint, urlTaken } from './unique-url.ts'

const endpointPath = (id: number) => `/admin/webhooks/${id}`

/**
 * The back office's webhook pages (issue 16), admins only, server-rendered without client
 * JavaScript: `/admin/webhooks` lists the endpoints and registers one; `/admin/webhooks/:id`
 * changes, disables, enables, deletes one, rotates its secret (and ends the rotation's overlap,
 * secret-rotation.ts), and shows its latest 50 deliveries with a Redeliver (or Send now) button
 * each, and older ones 50 a page (`?cursor=`, "Older deliveries"). A new secret (registering, rotating) is shown once, on the
 * endpoint's page the POST redirects to (Post/Redirect/Get: src/staff/secret-reveal.ts), so a
 * reload makes no second endpoint or secret. Every form posts `_csrf` (checked by
 * src/staff/access.ts).
 */
const webhookAdminPages: FastifyPluginAsyncTypebox<WebhookAdminOptions> = async (
  app,
  { allowLocal, production, overlapHours },
) => {
  async function renderList(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    page: { typed?: Typed; errors?: FormErrors; deleted?: boolean },
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
      /** The deliveries shown are the older ones after this delivery id ("Older deliveries"). */
      before?: string
    } = {},
  ) {
    // One more than shown: whether there are older ones to link to.
    const deliveries = await recentDeliveries(
      app.db,
      endpoint.id,
      recentDeliveryCount + 1,
      page.before,
    )
    const last = deliveries[recentDeliveryCount - 1]
    return reply.code(status).view('admin-webhook.eta', {
      endpoint,
      deliveries: deliveries.slice(0, recentDeliveryCount),
      older: page.before !== undefined,
      olderCursor:
        deliveries.length > recentDeliveryCount && last
          ? encodeDeliveryCursor(endpoint.id, last.id)
          : undefined,
      eventTypes,
      allowLocal,
      typed: page.typed ?? {
        url: endpoint.url,
        description: endpoint.description,
        eventTypes: endpoint.eventTypes,
      },
      errors: page.errors ?? {},
      secret: page.secret,
      overlapHours,
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
  // A form refused as sent: its page again, 400, with the sentence (endpoint-form.ts).
  const { formOptions, endpointFormOptions, buttonOptions, listPage, endpointPage } = endpointForms(
    (request, reply, page) => renderList(request, reply, 400, page),
    async (request, reply, page) => {
      const { id } = request.params as { id: string }
      const found = await endpointOr404(request, reply, id)
      return found ? renderEndpoint(request, reply, 400, found, page) : reply
    },
  )

  app.get('/admin/webhooks', listPage, (request, reply) =>
    renderList(request, reply, 200, { deleted: request.query.deleted !== undefined }),
  )

  app.post('/admin/webhooks', formOptions, async (request, reply) => {
    const typed = typedOf(request.body)
    const checked = await checkForm(typed, allowLocal)
    if (!checked.ok) return renderList(request, reply, 400, { typed, errors: checked.errors })
    const registered = await registerEndpoint(app.db, {
      url: checked.url,
      description: typed.description,
      eventTypes: typed.eventTypes,
      secret: newSigningSecret(),
      createdBy: request.staff?.id ?? null,
    })
    if (registered.kind === 'taken') {
      // A second submit of the form (a double click) lands here too: the first one's answer
      // showed the secret, once; the sentence says how to get another.
      const url = `${urlTaken(checked.url, registered.id)} If this form was just sent twice, the first submit registered it and its signing secret was shown once; rotate the secret on its page if it was not stored.`
      return renderList(request, reply, 409, { typed, errors: { url } })
    }
    const { endpoint } = registered
    request.log.info(
      { endpointId: endpoint.id, host: new URL(endpoint.url).host, staffId: request.staff?.id },
      'webhook endpoint registered',
    )
    // Post/Redirect/Get: the page shows the secret once (secret-reveal.ts), never in its URL.
    keepForReveal(reply, signingSecretReveal, endpoint, production)
    return reply.redirect(`${endpointPath(endpoint.id)}?registered=1`, 303)
  })

  app.get('/admin/webhooks/:id', endpointPage, async (request, reply) => {
    const endpoint = await endpointOr404(request, reply, request.params.id)
    if (!endpoint) return reply
    // Only this endpoint's current secret: not one another endpoint's or a rotation replaced.
    const reveal = await takeReveal(request, reply, signingSecretReveal, production, (id, s) =>
      id === endpoint.id ? signsWith(app.db, id, s) : Promise.resolve(false),
    )
    const { redelivered } = request.query
    const redeliveredNow =
      redelivered === undefined
        ? undefined
        : await redeliveredStatus(app.db, endpoint.id, redelivered)
    const notice = noticeOf(request.query, reveal !== undefined, endpoint, redeliveredNow)
    const deliveries = deliveryPage({ cursor: request.query.cursor }, endpoint.id)
    if (!deliveries.ok) {
      // "Start again from the first page": this endpoint's page, its latest deliveries.
      const back = { href: endpointPath(endpoint.id), label: 'Back to the latest deliveries' }
      return sendError(request, reply, 400, deliveries.message, { back })
    }
    return renderEndpoint(request, reply, 200, endpoint, {
      notice,
      secret: reveal?.secret,
      before: deliveries.before,
    })
  })

  app.post('/admin/webhooks/:id', endpointFormOptions, async (request, reply) => {
    const endpoint = await endpointOr404(request, reply, request.params.id)
    if (!endpoint) return reply
    const typed = typedOf(request.body)
    const checked = await checkForm(typed, allowLocal)
    if (!checked.ok) {
      return renderEndpoint(request, reply, 400, endpoint, { typed, errors: checked.errors })
    }
    const change = await changeEndpoint(app.db, endpoint.id, {
      url: checked.url,
      description: typed.description,
      eventTypes: typed.eventTypes,
    })
    if (change.kind === 'taken') {
      const errors = { url: urlTaken(checked.url, change.id) }
      return renderEndpoint(request, reply, 409, endpoint, { typed, errors })
    }
    return reply.redirect(`${endpointPath(endpoint.id)}?updated=1`, 303)
  })

  app.post('/admin/webhooks/:id/enabled', buttonOptions('enabled'), async (request, reply) => {
    const { enabled } = request.body
    if (enabled !== 'true' && enabled !== 'false') {
      const endpoint = await endpointOr404(request, reply, request.params.id)
      if (!endpoint) return reply
      const errors = { enabled: 'This form is damaged: reload the page and try again.' }
      return renderEndpoint(request, reply, 400, endpoint, { errors })
    }
    const id = endpointId(request.params.id)
    const change = id && (await changeEndpoint(app.db, id, { enabled: enabled === 'true' }))
    if (!id || !change || change.kind !== 'changed') {
      return sendError(request, reply, 404, unknownEndpoint(request.params.id))
    }
    return reply.redirect(`${endpointPath(id)}?updated=1`, 303)
  })

  app.post('/admin/webhooks/:id/rotate-secret', buttonOptions('rotate'), async (request, reply) => {
    const endpoint = await rotateOr404(app.db, request, reply, overlapHours)
    if (!endpoint) return reply
    keepForReveal(reply, signingSecretReveal, endpoint, production)
    return reply.redirect(`${endpointPath(endpoint.id)}?rotated=1`, 303)
  })

  // A previous secret that leaked: stop signing with it now (secret-rotation.ts).
  app.post(
    '/admin/webhooks/:id/end-secret-overlap',
    buttonOptions('page'),
    async (request, reply) => {
      const endpoint = await endOverlapOr404(app.db, request, reply)
      if (!endpoint) return reply
      return reply.redirect(`${endpointPath(endpoint.id)}?overlapEnded=1`, 303)
    },
  )

  app.post('/admin/webhooks/:id/delete', buttonOptions('delete'), async (request, reply) => {
    const endpoint = await endpointOr404(request, reply, request.params.id)
    if (!endpoint) return reply
    if (request.body.confirm !== 'yes') {
      const errors = { confirm: 'Tick the box to confirm the deletion.' }
      return renderEndpoint(request, reply, 400, endpoint, { errors })
    }
    await deleteEndpoint(app.db, endpoint.id)
    request.log.info({ endpointId: endpoint.id, staffId: request.staff?.id }, 'webhook deleted')
    // The notice names nothing from the URL: a link with ?deleted=<anything> cannot make the page
    // say some endpoint was deleted.
    return reply.redirect('/admin/webhooks?deleted=1', 303)
  })

  app.post(
    '/admin/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      ...buttonOptions('page'),
      schema: { hide: true, params: DeliveryParams, body: EndpointForm },
    },
    async (request, reply) => {
      const endpoint = await endpointOr404(request, reply, request.params.id)
      if (!endpoint) return reply
      const delivery = deliveryId(request.params.deliveryId)
      const result = delivery ? await redeliver(app.db, endpoint.id, delivery) : undefined
      if (!result || result.kind === 'not-found') {
        return sendError(request, reply, 404, unknownDelivery(request.params.deliveryId))
      }
      if (result.kind === 'too-soon') {
        const message = tooSoon(result.delivery, result.why)
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
