import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { blankRepeatsDropped } from '../admin/page-query.ts'
import { ErrorResponse } from '../orders/schemas.ts'
import { refuseValue, sendError } from '../plugins/errors.ts'
import { adminApi } from '../staff/schemas.ts'
import { normaliseFields, normaliseText } from '../text.ts'
import { recentDeliveries, recentDeliveryCount, redeliver, tooSoon } from './deliveries.ts'
import { deliveryPage, nextLink } from './delivery-pages.ts'
import type { WebhookAdminOptions } from './plugin.ts'
import { deleteEndpoint, deliveryId, endpointId, findEndpoint, listEndpoints } from './queries.ts'
import {
  DeliveriesPage,
  DeliveriesQuery,
  Delivery,
  DeliveryParams,
  Endpoint,
  EndpointCreate,
  EndpointParams,
  EndpointPatch,
  EndpointWithSecret,
} from './schemas.ts'
import { newSigningSecret } from './secrets.ts'
import { changeEndpoint, registerEndpoint, urlTaken } from './unique-url.ts'
import { checkWebhookUrl } from './url-policy.ts'

/** The description as it is validated and stored: trimmed, in NFC (src/text.ts). */
async function normaliseDescription(request: { body: unknown }) {
  normaliseFields(request.body, { description: normaliseText })
}
export const adminOnly = { access: 'admin' as const }

export const unknownEndpoint = (id: string) => `There is no webhook endpoint ${id}.`
export const unknownDelivery = (id: string) => `This endpoint has no delivery ${id}.`

/**
 * The URL as it will be stored (the parser's spelling, without a #fragment or an empty query),
 * or the policy's reason for refusing it (url-policy.ts: scheme, credentials, names, and every
 * address the host resolves to now).
 */
export async function registrableUrl(
  typed: string,
  allowLocal: boolean,
): Promise<{ ok: true; url: string } | { ok: false; reason: string }> {
  const verdict = await checkWebhookUrl(typed.trim(), { allowLocal })
  return verdict.ok ? { ok: true, url: verdict.url.href } : verdict
}

/**
 * The webhook endpoints API (issue 16), admins only (`config.access: 'admin'`; bearer token,
 * src/staff/access.ts: 401 without, 403 for staff). The signing secret is in the create and
 * rotate answers only, never in a list or get, and never logged; rotating it and ending a
 * rotation's overlap are secret-routes.ts.
 */
const webhookAdminRoutes: FastifyPluginAsyncTypebox<WebhookAdminOptions> = async (
  app,
  { allowLocal },
) => {
  app.get(
    '/api/admin/webhooks',
    {
      schema: {
        ...adminApi,
        summary: 'Every webhook endpoint (without secrets)',
        response: { 200: Type.Array(Endpoint) },
      },
      config: adminOnly,
    },
    () => listEndpoints(app.db),
  )

  app.post(
    '/api/admin/webhooks',
    {
      schema: {
        ...adminApi,
        summary: 'Register a webhook endpoint; the answer holds its signing secret, once',
        description:
          'The URL must be https, written https://host/path (not https:host/path, https:/host/path or with backslashes, which the URL parser would mend), without a user name or password, not on port 0, without spaces, tabs, line breaks or other control or invisible characters as typed (the URL parser would drop or encode them), and its host must resolve only to public addresses (not loopback, private, carrier-grade NAT, link-local, metadata, multicast or reserved ones); WEBHOOKS_ALLOW_LOCAL=true also allows http and local addresses, for development. 400 names the rule broken. The endpoint starts enabled unless `enabled: false`. The `secret` (Standard Webhooks, `whsec_…`) is in this answer only; 201 with `Location`. 409 naming the endpoint when one already has this URL (one endpoint per URL).',
        body: EndpointCreate,
        response: {
          201: {
            ...EndpointWithSecret,
            headers: {
              location: {
                type: 'string',
                description: "The endpoint's address: /api/admin/webhooks/{id}",
              },
            },
          },
          400: ErrorResponse,
          409: ErrorResponse,
        },
      },
      config: adminOnly,
      preValidation: normaliseDescription,
    },
    async (request, reply) => {
      const checked = await registrableUrl(request.body.url, allowLocal)
      if (!checked.ok)
        return refuseValue(request, reply, { pointer: '/url' }, `url: ${checked.reason}`)
      const registered = await registerEndpoint(app.db, {
        url: checked.url,
        description: request.body.description ?? '',
        eventTypes: request.body.eventTypes,
        secret: newSigningSecret(),
        createdBy: request.staff?.id ?? null,
        enabled: request.body.enabled,
      })
      if (registered.kind === 'taken')
        return sendError(request, reply, 409, urlTaken(checked.url, registered.id))
      const { endpoint } = registered
      request.log.info(
        // The host only: a URL's path or query may hold the receiver's own token.
        { endpointId: endpoint.id, host: new URL(endpoint.url).host, staffId: request.staff?.id },
        'webhook endpoint registered',
      )
      // RFC 9110 §15.3.2: a 201 names the resource it created, as orders and staff accounts do.
      return reply.code(201).header('location', `/api/admin/webhooks/${endpoint.id}`).send(endpoint)
    },
  )

  app.get(
    '/api/admin/webhooks/:id',
    {
      schema: {
        ...adminApi,
        summary: 'One webhook endpoint (without its secret)',
        params: EndpointParams,
        response: { 200: Endpoint, 400: ErrorResponse, 404: ErrorResponse },
      },
      config: adminOnly,
    },
    async (request, reply) => {
      const id = endpointId(request.params.id)
      const endpoint = id && (await findEndpoint(app.db, id))
      if (!endpoint) return sendError(request, reply, 404, unknownEndpoint(request.params.id))
      return endpoint
    },
  )

  app.patch(
    '/api/admin/webhooks/:id',
    {
      schema: {
        ...adminApi,
        summary: "Change an endpoint's URL, description or events, or disable and enable it",
        description:
          'A new URL is checked as at registration (409 when another endpoint has it). `enabled: true` re-enables an endpoint the dispatcher disabled (its `disabledReason` and `failingSince` are cleared) and makes its pending deliveries that wait for their next try due now, attempts kept (not one tried in the last 30 s: it may be on its way).',
        params: EndpointParams,
        body: EndpointPatch,
        response: { 200: Endpoint, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
      },
      config: adminOnly,
      preValidation: normaliseDescription,
    },
    async (request, reply) => {
      const { url, description, eventTypes, enabled } = request.body
      if ([url, description, eventTypes, enabled].every((v) => v === undefined)) {
        return refuseValue(
          request,
          reply,
          { pointer: '' },
          'body: send url, description, eventTypes or enabled.',
        )
      }
      const id = endpointId(request.params.id)
      if (!id) return sendError(request, reply, 404, unknownEndpoint(request.params.id))
      let checkedUrl: string | undefined
      if (url !== undefined) {
        const checked = await registrableUrl(url, allowLocal)
        if (!checked.ok)
          return refuseValue(request, reply, { pointer: '/url' }, `url: ${checked.reason}`)
        checkedUrl = checked.url
      }
      const change = await changeEndpoint(app.db, id, {
        url: checkedUrl,
        description,
        eventTypes,
        enabled,
      })
      if (change.kind === 'taken')
        return sendError(request, reply, 409, urlTaken(checkedUrl ?? '', change.id))
      if (change.kind === 'not-found')
        return sendError(request, reply, 404, unknownEndpoint(request.params.id))
      request.log.info(
        { endpointId: id, changed: Object.keys(request.body), staffId: request.staff?.id },
        'webhook endpoint changed',
      )
      return change.endpoint
    },
  )

  app.delete(
    '/api/admin/webhooks/:id',
    {
      schema: {
        ...adminApi,
        summary: 'Delete an endpoint and its deliveries',
        params: EndpointParams,
        response: { 204: Type.Null(), 400: ErrorResponse, 404: ErrorResponse },
      },
      config: adminOnly,
    },
    async (request, reply) => {
      const id = endpointId(request.params.id)
      if (!id || !(await deleteEndpoint(app.db, id))) {
        return sendError(request, reply, 404, unknownEndpoint(request.params.id))
      }
      request.log.info({ endpointId: id, staffId: request.staff?.id }, 'webhook endpoint deleted')
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/api/admin/webhooks/:id/deliveries',
    {
      schema: {
        ...adminApi,
        summary: `The endpoint's deliveries, newest first, ${recentDeliveryCount} a page`,
        description:
          'Keyset-paginated: when there are older deliveries the answer has a `Link: </api/admin/webhooks/:id/deliveries?cursor=…>; rel="next"` header (RFC 8288; `limit` kept): get it for the next page, until an answer has none. Deliveries made meanwhile do not shift a page. A blank `cursor` or `limit` (empty or only spaces: `cursor=`, `limit=`) is one not given: the newest deliveries, 50 a page. `limit` is a whole number from 1 to 50 in decimal digits, leading zeros allowed (`01` is 1); anything else (`0`, `51`, `1.0`, `+5`, `abc`) is refused: 400 naming `limit` and the range. A blank `cursor` is not given however long it is. A cursor names the endpoint whose list it belongs to: one that is malformed (damaged, with spaces around it, longer than 200 characters) or of another list (another endpoint\'s deliveries, the order list) is refused: 400 naming `cursor`, "This page link is damaged or out of date; start again from the first page." A well-formed cursor of this endpoint\'s list is a place in it, handed out or not: cursors are not signed. Any other parameter is refused (400 naming it).',
        params: EndpointParams,
        querystring: DeliveriesQuery,
        response: {
          200: DeliveriesPage(recentDeliveryCount),
          400: ErrorResponse,
          404: ErrorResponse,
        },
      },
      config: adminOnly,
      preValidation: blankRepeatsDropped(['cursor', 'limit']),
    },
    async (request, reply) => {
      const id = endpointId(request.params.id)
      // No endpoint is 0: no cursor names its list, and the answer is the 404 below.
      const page = deliveryPage(request.query, id ?? 0)
      if (!page.ok) {
        return refuseValue(request, reply, { parameter: page.parameter }, page.message, page.detail)
      }
      if (!id || !(await findEndpoint(app.db, id))) {
        return sendError(request, reply, 404, unknownEndpoint(request.params.id))
      }
      // One more than asked: whether there is a next page, without a count.
      const deliveries = await recentDeliveries(app.db, id, page.limit + 1, page.before)
      const last = deliveries[page.limit - 1]
      if (deliveries.length > page.limit && last) {
        reply.header('link', nextLink(id, last.id, page.limitGiven ? page.limit : undefined))
      }
      return deliveries.slice(0, page.limit)
    },
  )

  app.post(
    '/api/admin/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      schema: {
        ...adminApi,
        summary: 'Send a delivery again, or a pending one now',
        description:
          "Sets a delivered or failed delivery back to pending, due now, and makes a pending one waiting for its next try due now; its attempts kept. The dispatcher sends it once the endpoint is enabled and the order's earlier events have reached this endpoint. 409 for a delivery tried or asked to be redelivered in the last 30 s (a pending one may be on its way; a delivered one was just answered), the sentence saying which: of requests at the same moment, one redelivers and the others get 409.",
        params: DeliveryParams,
        response: {
          200: Delivery,
          400: ErrorResponse,

          404: ErrorResponse,
          409: ErrorResponse,
        },
      },
      config: adminOnly,
    },
    async (request, reply) => {
      const id = endpointId(request.params.id)
      const delivery = deliveryId(request.params.deliveryId)
      const result = id && delivery ? await redeliver(app.db, id, delivery) : undefined
      if (!result || result.kind === 'not-found') {
        // Name what is missing: the endpoint when it is the endpoint, else its delivery.
        const missing =
          !id || !(await findEndpoint(app.db, id))
            ? unknownEndpoint(request.params.id)
            : unknownDelivery(request.params.deliveryId)
        return sendError(request, reply, 404, missing)
      }
      if (result.kind === 'too-soon') {
        return sendError(request, reply, 409, tooSoon(result.delivery, result.why))
      }
      request.log.info(
        { endpointId: id, deliveryId: delivery, staffId: request.staff?.id },
        'webhook delivery redelivered',
      )
      return result.delivery
    },
  )
}

export default webhookAdminRoutes
