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
          'Keyset-paginated: pass nextCursor back as `cursor` with the same filters for the next page (a cursor this service did not make: 400). Filters combine (AND); blank ones are ignored; any other parameter is refused (400 naming it). Dates are UTC days, both included.',
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
