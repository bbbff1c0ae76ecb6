import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { parseOrderNumber, unknownOrder } from '../orders/order-number.ts'
import { ErrorResponse } from '../orders/schemas.ts'
import { refuseValue, sendError } from '../plugins/errors.ts'
import { adminApi } from '../staff/schemas.ts'
import { changeOrderStatus } from './change-order-status.ts'
import {
  etagOf,
  type IfMatch,
  type IfNoneMatch,
  notModified,
  parseIfMatch,
  parseIfNoneMatch,
} from './etag.ts'
import { findAdminOrder } from './queries.ts'
import {
  AdminOrder,
  AdminOrderParams,
  IfMatchHeaders,
  IfNoneMatchHeaders,
  normaliseTransitionBody,
  orderEtag,
  TransitionBody,
} from './schemas.ts'

const etagNote =
  'The answer carries the order\'s ETag (its version as a strong tag, `"3"`): send it back in If-Match to change the order.'

/**
 * 428 Precondition Required (RFC 6585 §3): a change must say which version it changes; `*`
 * (any version) is told apart, since it was sent and only guards nothing.
 */
const preconditionRequired = (
  request: FastifyRequest,
  reply: FastifyReply,
  kind: 'absent' | 'any',
) =>
  sendError(
    request,
    reply,
    428,
    `${kind === 'any' ? 'If-Match: * matches every version, so it guards nothing: send' : 'Send'} If-Match with the order's ETag (from GET /api/admin/orders/{orderNumber}), such as If-Match: "1".`,
  )

/** No If-Match, or `*`: true of any order that exists, so neither guards a transition (428). */
const preventsNoLostUpdate = (
  ifMatch: IfMatch,
): ifMatch is Extract<IfMatch, { kind: 'absent' | 'any' }> =>
  ifMatch.kind === 'absent' || ifMatch.kind === 'any'

/**
 * A preValidation hook: a change without If-Match (none, blank or `*`: etag.ts) is 428 from the
 * service before anything else is checked, so no If-Match at all never meets the headers'
 * schema (which requires it, as the document says) and its generic 400.
 */
async function requireIfMatch(request: FastifyRequest, reply: FastifyReply) {
  const ifMatch = parseIfMatch(request.headers['if-match'])
  if (preventsNoLostUpdate(ifMatch)) return preconditionRequired(request, reply, ifMatch.kind)
}

/**
 * The order lifecycle's JSON API for staff (`config.access: 'staff'`, enforced by
 * src/staff/access.ts: a bearer token of a staff member or an admin, else 401/403).
 */
const lifecycleRoutes: FastifyPluginAsyncTypebox = async (app) => {
  /**
   * 200 with the order `typed` names as it is now and its ETag, or 404 echoing `typed`; 304 Not
   * Modified, with the ETag and no body, when `condition` (a GET's If-None-Match) matches it
   * (RFC 9110 §13.1.2, §15.4.5).
   */
  async function sendOrder(
    request: FastifyRequest,
    reply: FastifyReply,
    typed: string,
    condition: IfNoneMatch = { kind: 'absent' },
  ) {
    const orderNumber = parseOrderNumber(typed)
    const order = orderNumber === undefined ? undefined : await findAdminOrder(app.db, orderNumber)
    if (!order) return sendError(request, reply, 404, unknownOrder(typed))
    reply.header('etag', etagOf(order.version))
    if (!notModified(condition, order.version)) return reply.send(order)
    // A 304 carries the fields its 200 would (RFC 9110 §15.4.5): the ETag, the guard's
    // Cache-Control and Vary, which the 200 has once over 1 KiB with compression on (always
    // here: a Vary more than needed misleads no cache).
    return reply.code(304).header('vary', 'accept-encoding').send()
  }

  // HEAD has a route of its own (the GET's, out of the OpenAPI document like every HEAD) rather
  // than Fastify's automatic one, whose onSend gives a 304 `Content-Length: 0`: a 304 may carry
  // only the 200's length (RFC 9110 §8.6).
  for (const method of ['GET', 'HEAD'] as const)
    app.route({
      method,
      url: '/api/admin/orders/:orderNumber',
      exposeHeadRoute: false,
      schema: {
        hide: method === 'HEAD',
        ...adminApi,
        summary: 'An order with its status, shipping details and history',
        description: `${etagNote} With If-None-Match listing that ETag (or \`*\`), 304 Not Modified: the ETag and no body (weak comparison: \`W/"3"\` matches too; 400 when it is not entity-tag syntax).`,
        params: AdminOrderParams,
        headers: IfNoneMatchHeaders,
        response: {
          200: { ...AdminOrder, headers: orderEtag },
          304: {
            description: 'The order is unchanged since the ETag sent in If-None-Match: no body',
            type: 'null',
            headers: orderEtag,
          },
          400: ErrorResponse,
          401: ErrorResponse,
          403: ErrorResponse,
          404: ErrorResponse,
        },
      },
      config: { access: 'staff' },
      handler: async (request, reply) => {
        const condition = parseIfNoneMatch(request.headers['if-none-match'])
        if (condition.kind === 'malformed') {
          return sendError(
            request,
            reply,
            400,
            'If-None-Match must be the order\'s ETag as sent, in double quotes, such as If-None-Match: "1" (or a list of them, or *).',
          )
        }
        return sendOrder(request, reply, request.params.orderNumber, condition)
      },
    })

  app.post(
    '/api/admin/orders/:orderNumber/transitions',
    {
      schema: {
        ...adminApi,
        summary: "Change an order's status (pack, ship, deliver, cancel)",
        description: `Allowed: placed → packed → shipped → delivered, placed or packed → cancelled. Shipping requires carrier and trackingNumber. Cancelling puts the stock back and takes the sale out of the insights. Requires If-Match with the order's ETag: 428 without it, 400 when it is not entity-tag syntax, 409 when the order's current status does not allow the change (said before any missing shipping detail, 400), 412 when the order changed meanwhile, 409 when a cancel would take a product's stock past 2,147,483,647. ${etagNote}`,
        params: AdminOrderParams,
        headers: IfMatchHeaders,
        body: TransitionBody,
        response: {
          200: { ...AdminOrder, headers: orderEtag },
          400: ErrorResponse,
          401: ErrorResponse,
          403: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
          412: ErrorResponse,
          428: ErrorResponse,
        },
      },
      config: { access: 'staff' },
      preValidation: [
        requireIfMatch,
        async (request) => {
          normaliseTransitionBody(request.body)
        },
      ],
    },
    async (request, reply) => {
      const ifMatch = parseIfMatch(request.headers['if-match'])
      if (ifMatch.kind === 'malformed') {
        return sendError(
          request,
          reply,
          400,
          'If-Match must be the order\'s ETag as sent, in double quotes, such as If-Match: "1".',
        )
      }
      // requireIfMatch answered it already; kept so that the handler stands on its own.
      if (preventsNoLostUpdate(ifMatch)) return preconditionRequired(request, reply, ifMatch.kind)
      const typed = request.params.orderNumber
      // Not an order number's shape: no order, and no statement to find that out.
      const orderNumber = parseOrderNumber(typed)
      if (orderNumber === undefined) return sendError(request, reply, 404, unknownOrder(typed))
      const result = await changeOrderStatus(app.db, {
        ...request.body,
        orderNumber,
        expectedVersions: ifMatch.versions,
        staffId: request.staff?.id ?? null,
      })
      switch (result.kind) {
        case 'changed':
          return sendOrder(request, reply, orderNumber)
        case 'invalid':
          return refuseValue(request, reply, { pointer: `/${result.field}` }, result.message)
        case 'not-found':
          return sendError(request, reply, 404, unknownOrder(typed))
        case 'illegal':
        case 'too-much-stock':
          return sendError(request, reply, 409, result.message)
        case 'stale':
          // No ETag here: the client should read the order again before deciding, not retry.
          if (ifMatch.weak) {
            return sendError(
              request,
              reply,
              412,
              `If-Match never matches a weak entity tag (W/"…"; RFC 9110 §13.1.1): send the order's ETag as GET /api/admin/orders/${orderNumber} gives it, a strong tag such as If-Match: "1".`,
            )
          }
          return sendError(
            request,
            reply,
            412,
            `Order ${orderNumber} changed meanwhile (it is ${result.current} now); reload it and try again.`,
          )
      }
    },
  )
}

export default lifecycleRoutes
