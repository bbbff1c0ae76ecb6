import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { ErrorResponse } from '../orders/schemas.ts'
import { sendError } from '../plugins/errors.ts'
import { adminApi } from '../staff/schemas.ts'
import { adminOnly, unknownEndpoint } from './admin-routes.ts'
import type { WebhookAdminOptions } from './plugin.ts'
import { endpointId } from './queries.ts'
import { Endpoint, EndpointParams, EndpointWithSecret } from './schemas.ts'
import { endSecretOverlap, rotateSecret } from './secret-rotation.ts'
import { newSigningSecret } from './secrets.ts'

type EndpointRequest = FastifyRequest<{ Params: { id: string } }>

/**
 * Rotates the secret of the endpoint of `:id` (WEBHOOKS_SECRET_OVERLAP_HOURS: `overlapHours`)
 * and logs it (never a secret), or answers 404 and gives undefined. For the API and the page.
 */
export async function rotateOr404(
  db: Kysely<Database>,
  request: EndpointRequest,
  reply: FastifyReply,
  overlapHours: number,
) {
  const id = endpointId(request.params.id)
  const endpoint = id && (await rotateSecret(db, id, newSigningSecret(), overlapHours))
  if (!endpoint) {
    await sendError(request, reply, 404, unknownEndpoint(request.params.id))
    return undefined
  }
  const { previousSecretUntil } = endpoint
  request.log.info(
    { endpointId: id, previousSecretUntil, staffId: request.staff?.id },
    'webhook secret rotated',
  )
  return endpoint
}

/** Ends the overlap of the endpoint of `:id` and logs it, or answers 404 and gives undefined. */
export async function endOverlapOr404(
  db: Kysely<Database>,
  request: EndpointRequest,
  reply: FastifyReply,
) {
  const id = endpointId(request.params.id)
  const endpoint = id && (await endSecretOverlap(db, id))
  if (!endpoint) {
    await sendError(request, reply, 404, unknownEndpoint(request.params.id))
    return undefined
  }
  request.log.info({ endpointId: id, staffId: request.staff?.id }, 'webhook secret overlap ended')
  return endpoint
}

/**
 * An endpoint's signing secret through the API, admins only as the other endpoint routes
 * (admin-routes.ts): rotating it, which keeps the replaced secret signing for
 * WEBHOOKS_SECRET_OVERLAP_HOURS (secret-rotation.ts), and ending that overlap at once. The new
 * secret is in the rotate answer only; the previous one is never in any answer or log.
 */
const webhookSecretRoutes: FastifyPluginAsyncTypebox<WebhookAdminOptions> = async (
  app,
  { overlapHours },
) => {
  app.post(
    '/api/admin/webhooks/:id/rotate-secret',
    {
      schema: {
        ...adminApi,
        summary: "Replace an endpoint's signing secret; the answer holds the new one, once",
        description: `Deliveries are signed with the new secret from now on. The replaced secret keeps signing them too, after the new one (two signatures in \`webhook-signature\`, Standard Webhooks' zero-downtime rotation), until \`previousSecretUntil\`: now + WEBHOOKS_SECRET_OVERLAP_HOURS (${overlapHours} on this instance; 0: not at all, \`previousSecretUntil\` null). Install the new secret at the receiver within that window. A second rotation within the window replaces the previous secret with the one being replaced now: the first one stops signing at once. For a secret that leaked, end the overlap (\`POST …/end-secret-overlap\`).`,
        params: EndpointParams,
        response: { 200: EndpointWithSecret, 400: ErrorResponse, 404: ErrorResponse },
      },
      config: adminOnly,
    },
    async (request, reply) => (await rotateOr404(app.db, request, reply, overlapHours)) ?? reply,
  )

  app.post(
    '/api/admin/webhooks/:id/end-secret-overlap',
    {
      schema: {
        ...adminApi,
        summary: "Stop signing with the secret an endpoint's latest rotation replaced, now",
        description:
          "For a previous secret that leaked: deliveries taken from now on carry the current secret's signature only (ones already on their way, at most 30 s of them, were signed with both). The answer has `previousSecretUntil: null`. Idempotent: with no previous secret in use it changes nothing.",
        params: EndpointParams,
        response: { 200: Endpoint, 400: ErrorResponse, 404: ErrorResponse },
      },
      config: adminOnly,
    },
    async (request, reply) => (await endOverlapOr404(app.db, request, reply)) ?? reply,
  )
}

export default webhookSecretRoutes
