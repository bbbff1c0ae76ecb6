import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorResponse } from '../orders/schemas.ts'
import { refuseValue } from '../plugins/errors.ts'
import { adminApi } from '../staff/schemas.ts'
import { encodeCursor } from './cursor.ts'
import { dropBlankRepeats, parseListQuery } from './filters.ts'
import { listOrders } from './queries.ts'
import { OrderList, StrictListQuerystring } from './schemas.ts'

/** The order list's JSON twin (bearer token of a staff member or an admin: access.ts). */
const adminOrderApi: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/admin/orders',
    {
      schema: {
        ...adminApi,
        summary: 'Orders, newest first, 50 a page',
        description:
          'Keyset-paginated: pass nextCursor back as `cursor` with the same filters for the next page. A blank `cursor` (empty or only spaces, however long) is none, the first page; any other is read as sent, and one that is malformed (damaged, with spaces around it, longer than 200 characters) or of another list (a webhook endpoint\'s deliveries) is refused: 400 naming `cursor`, "This page link is damaged or out of date; start again from the first page." A well-formed cursor (a time and an order id) is a place in the list, handed out or not: the page after it (cursors are not signed). Filters combine (AND); blank ones are ignored; any other parameter is refused (400 naming it), `limit` too: the list is 50 a page. Dates are UTC days, both included.',
        querystring: StrictListQuerystring,
        response: { 200: OrderList, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse },
      },
      config: { access: 'staff' },
      preValidation: dropBlankRepeats,
    },
    async (request, reply) => {
      const parsed = parseListQuery(request.query)
      if (!parsed.ok)
        return refuseValue(request, reply, { parameter: parsed.parameter }, parsed.message)
      const { orders, next } = await listOrders(app.db, parsed.filters, parsed.after)
      return { orders, nextCursor: next ? encodeCursor(next) : null }
    },
  )
}

export default adminOrderApi
