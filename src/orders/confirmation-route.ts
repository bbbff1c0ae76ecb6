import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Config } from '../config.ts'
import { sendError } from '../plugins/errors.ts'
import { localTime } from '../state-time-zones.ts'
import { usStates } from '../us-states.ts'
import { ownOrder } from './own-order.ts'
import type { FoundOrder } from './queries.ts'
import { OrderNumberParams } from './schemas.ts'

/**
 * The order's confirmation page, `GET /orders/:orderNumber`, where the order form leads; with
 * `config.SMTP_URL` set it says e-mails will follow, or that they could not be sent once one of
 * the order's was given up.
 */
const confirmationRoute: FastifyPluginAsyncTypebox<{ config: Config }> = async (
  app,
  { config },
) => {
  app.get(
    '/orders/:orderNumber',
    // Too long to be an order number (the API's 400): to a shopper, an order not found.
    { schema: { hide: true, params: OrderNumberParams }, attachValidation: true },
    async (request, reply) => {
      // Past LOOKUP_MISS_MAX misses a minute, 429 before the database (orders/lookup-misses.ts),
      // unless this browser's order form placed the order (own-order.ts).
      let order: FoundOrder | undefined
      const valid = !request.validationError
      if (app.lookupMisses.limited(request)) {
        order = valid ? await ownOrder(app.db, request, request.params.orderNumber) : undefined
        // undefined too when the window ended during the read: then looked up as any other.
        const refused = order ? undefined : app.lookupMisses.refuse(request, reply)
        if (refused) return refused
      }
      if (valid) order ??= await app.orders.find(request.params.orderNumber)
      if (!order) {
        app.lookupMisses.miss(request)
        const typed = request.params.orderNumber.trim()
        return sendError(request, reply, 404, `We could not find order ${typed}.`)
      }
      // Typed loosely (lower case, no dash, I/L/O for 1/0): the page has one address. Only once
      // found, so a redirect says no more about a number than the page itself would.
      if (request.params.orderNumber !== order.orderNumber) {
        return reply.redirect(`/orders/${order.orderNumber}`, 301)
      }
      // The page shows a shopper's address: no-store (plugins/cache-control.ts).
      const topProducts = await app.topProducts(order.customer.state)
      const emailsOn = Boolean(config.SMTP_URL) && order.status !== 'cancelled'
      return reply.view('confirmation.eta', {
        order,
        topProducts,
        stateName: usStates[order.customer.state] ?? order.customer.state,
        // When it was placed where the parcel goes; the <time> element keeps the UTC instant.
        placedAt: localTime(order.createdAt, order.customer.state),
        emailsOn,
        // Given up (recipient refused, a day of retries): say so rather than promise more.
        emailFailed: emailsOn && order.emailFailed === true,
      })
    },
  )
}

export default confirmationRoute
