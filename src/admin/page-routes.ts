import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { unreadableFields, unstorableStrings } from '../input-guards.ts'
import { changeOrderStatus } from '../lifecycle/change-order-status.ts'
import { findAdminOrder } from '../lifecycle/queries.ts'
import { AdminOrderParams, normaliseTransitionBody, targets } from '../lifecycle/schemas.ts'
import {
  canTransition,
  type OrderStatus,
  refusal,
  statuses,
  transitions,
} from '../lifecycle/transitions.ts'
import { parseOrderNumber, unknownOrder } from '../orders/order-number.ts'
import { sendError } from '../plugins/errors.ts'
import { ExportsBusy, exportOrderCsv } from './csv.ts'
import { encodeCursor, type ListKey } from './cursor.ts'
import {
  canonicalListQuery,
  dropBlankRepeats,
  filterParams,
  parseListQuery,
  refusedListQuery,
} from './filters.ts'
import { listOrders, listOrdersBefore } from './queries.ts'
import { ExportQuerystring, PageListQuerystring, TransitionForm } from './schemas.ts'
import { damagedForm, fieldErrors, notChanged } from './transition-fields.ts'

/** What each button of the order page says. */
const actionLabels: Record<string, string> = {
  packed: 'Mark packed',
  shipped: 'Ship',
  delivered: 'Mark delivered',
  cancelled: 'Cancel order',
}
const changedMeanwhile = (status: string) =>
  `This order changed meanwhile: it is ${status} now. Check it, then choose again.`

/** `/admin/orders/7K3QX-M2ZPA` */
const orderPath = (orderNumber: string) => `/admin/orders/${encodeURIComponent(orderNumber)}`

/**
 * The back office's orders, server-rendered (no client JavaScript): the list with its filters,
 * its CSV, and an order's page with its actions. Every route declares `access: 'staff'`
 * (src/staff/access.ts signs the caller in, and checks `_csrf` on the POST).
 */
const adminOrderPages: FastifyPluginAsyncTypebox = async (app) => {
  /** The list page: 200, or 400 with the filter form and the reason when the query is refused. */
  app.get(
    '/admin/orders',
    {
      schema: { hide: true, querystring: PageListQuerystring },
      config: { access: 'staff', queryShowsRefusals: true },
      preValidation: dropBlankRepeats,
      // A parameter twice or over-long (a hand-edited link): the page with the form, not an error page.
      attachValidation: true,
    },
    async (request, reply) => {
      if (request.validationError) {
        const { query, message } = refusedListQuery(request.query)
        return reply.code(400).view('admin-orders.eta', { query, statuses, message })
      }
      const query = canonicalListQuery(request.query)
      const parsed = parseListQuery(query)
      const params = filterParams(query)
      const view = { query, statuses, csv: `/admin/orders.csv?${params}` }
      if (!parsed.ok) {
        // The CSV takes the same filters: under a refused one it would be this 400 again. A bad
        // cursor is the page link's fault alone (the CSV has none).
        const csv = parsed.parameter === 'cursor' ? view.csv : undefined
        return reply.code(400).view('admin-orders.eta', { ...view, csv, message: parsed.message })
      }
      const { filters, after, before } = parsed
      // Forward after a key (or from the top), or back before one: the same index either way.
      const { orders, next, previous } = before
        ? await listOrdersBefore(app.db, filters, before)
        : await listOrders(app.db, filters, after)
      /** This list's page after (`cursor`) or before (`before`) a key, under the same filters. */
      const link = (name: 'cursor' | 'before', key: ListKey | null) => {
        if (!key) return undefined
        const linked = new URLSearchParams(params)
        linked.set(name, encodeCursor(key))
        return `/admin/orders?${linked}`
      }
      return reply.view('admin-orders.eta', {
        ...view,
        orders,
        emailSearch: filters.email !== undefined,
        paged: previous !== null,
        first: `/admin/orders${params.size > 0 ? `?${params}` : ''}`,
        previous: link('before', previous),
        next: link('cursor', next),
      })
    },
  )

  /**
   * The list under the same filters as CSV, streamed: made by PostgreSQL through COPY on a
   * server, in keyset batches on PGlite (csv.ts's exportOrderCsv).
   */
  app.get(
    '/admin/orders.csv',
    {
      schema: { hide: true, querystring: ExportQuerystring },
      config: { access: 'staff' },
      preValidation: dropBlankRepeats,
    },
    async (request, reply) => {
      const parsed = parseListQuery(request.query)
      if (!parsed.ok) return sendError(request, reply, 400, parsed.message)
      // The header and the first chunk of records are read before the first byte goes out, so a
      // database that fails at once is a 5xx, not a 200 cut short; a failure after that errors
      // the stream, and Fastify then destroys the socket: the client sees a broken chunked
      // body, never a short file that ended well.
      const chunks = await exportOrderCsv(app.db, parsed.filters).catch((error: unknown) => {
        if (!(error instanceof ExportsBusy)) throw error
        return error
      })
      if (chunks instanceof ExportsBusy) {
        reply.header('retry-after', '30')
        return sendError(request, reply, 503, chunks.message)
      }
      const day = new Date().toISOString().slice(0, 10)
      return (
        reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="orders-${day}.csv"`)
          // One chunk ahead of the socket, not Readable.from's default of 16.
          .send(Readable.from(chunks, { highWaterMark: 1 }))
      )
    },
  )

  /**
   * The order page: 200 (or `status` with `message` after a refused change), 404 when there is
   * no such order. A loosely typed number redirects (301) to the canonical address.
   */
  async function renderOrder(
    request: FastifyRequest,
    reply: FastifyReply,
    typed: string,
    page: {
      status?: number
      message?: string
      /** The shipping form's fields' mistakes: each marked invalid, its message beside it and in the alert. */
      errors?: Record<string, string> | undefined
      values?: Record<string, string>
      /** The change those fields were for: its status's refusal (409) wins, as the API's does. */
      to?: OrderStatus
    } = {},
  ) {
    const orderNumber = parseOrderNumber(typed)
    const order = orderNumber === undefined ? undefined : await findAdminOrder(app.db, orderNumber)
    if (!order) return sendError(request, reply, 404, unknownOrder(typed))
    // Cancelled in another tab: a shipping form's blank field is not why, and the page shows none.
    if (page.to && !canTransition(order.status, page.to)) {
      page = { status: 409, message: refusal(order.orderNumber, order.status, page.to) }
    }
    if (request.method === 'GET' && typed !== order.orderNumber) {
      return reply.redirect(orderPath(order.orderNumber), 301)
    }
    // Cancelling cannot be undone: its button is a link to a page that says what it does and
    // holds the real form (cancelPage below), not a form beside the others.
    const allowed = transitions[order.status] as readonly OrderStatus[]
    const actions = allowed
      .filter((to) => to !== 'cancelled')
      .map((to) => ({ to, label: actionLabels[to] ?? to }))
    return reply.code(page.status ?? 200).view('admin-order.eta', {
      order,
      actions,
      cancel: allowed.includes('cancelled') ? `${orderPath(order.orderNumber)}/cancel` : undefined,
      csrf: request.staffSession?.csrfSecret,
      message: page.message,
      errors: page.errors ?? {},
      values: page.values ?? {},
      action: `${orderPath(order.orderNumber)}/transitions`,
    })
  }

  app.get(
    '/admin/orders/:orderNumber',
    { schema: { hide: true, params: AdminOrderParams }, config: { access: 'staff' } },
    (request, reply) => renderOrder(request, reply, request.params.orderNumber),
  )

  /**
   * "Cancel order": the step before the cancel, without JavaScript. It says what cancelling
   * does (final; the units go back into stock; the sale leaves the insights) and holds the form
   * that POSTs the change (`_csrf`, the order's version as shown here). An order whose status
   * no longer allows cancelling gets its page again with the lifecycle's sentence (409).
   */
  app.get(
    '/admin/orders/:orderNumber/cancel',
    { schema: { hide: true, params: AdminOrderParams }, config: { access: 'staff' } },
    async (request, reply) => {
      const typed = request.params.orderNumber
      const orderNumber = parseOrderNumber(typed)
      const order =
        orderNumber === undefined ? undefined : await findAdminOrder(app.db, orderNumber)
      if (!order) return sendError(request, reply, 404, unknownOrder(typed))
      if (typed !== order.orderNumber) {
        return reply.redirect(`${orderPath(order.orderNumber)}/cancel`, 301)
      }
      if (!canTransition(order.status, 'cancelled')) {
        const message = refusal(order.orderNumber, order.status, 'cancelled')
        return renderOrder(request, reply, typed, { status: 409, message })
      }
      return reply.view('admin-order-cancel.eta', {
        order,
        units: order.items.reduce((sum, i) => sum + i.quantity, 0),
        csrf: request.staffSession?.csrfSecret,
        page: orderPath(order.orderNumber),
        action: `${orderPath(order.orderNumber)}/transitions`,
      })
    },
  )

  /**
   * A button of the order page (or the cancel page's). Success: 303 back to the order page (post/redirect/get). A
   * refusal re-renders the page as it is now with the reason: 400 for a bad field, 409 when the
   * status does not allow the change (the lifecycle's sentence), 409 too when the order changed
   * since the page was rendered (its version in the form is not the order's: "This order changed
   * meanwhile"). 409, not 412: the version travels in the form, not in an HTTP precondition
   * header, so this is a conflict with the order's state (RFC 9110 §15.5.10).
   */
  app.post(
    '/admin/orders/:orderNumber/transitions',
    {
      schema: { hide: true, params: AdminOrderParams, body: TransitionForm },
      attachValidation: true,
      config: { access: 'staff', formShowsRefusals: true },
      preValidation: (request, _reply, done) => {
        normaliseTransitionBody(request.body)
        done()
      },
    },
    async (request, reply) => {
      const typed = request.params.orderNumber
      const body = request.body
      // As typed, but what a page cannot hold: a NUL dropped (its message says there was one),
      // half a surrogate pair as U+FFFD (what an HTML page's UTF-8 would make of it anyway).
      const shown = (typed: unknown) =>
        typeof typed === 'string' ? typed.replaceAll('\u0000', '').toWellFormed() : ''
      const values = { carrier: shown(body?.carrier), trackingNumber: shown(body?.trackingNumber) }
      /**
       * The page again with `message`; `errors`: the typed fields' mistakes, marked there, unless
       * the order's status no longer allows `to` (renderOrder says that instead).
       */
      const refuse = (
        status: number,
        message: string,
        errors?: Record<string, string>,
        to?: OrderStatus,
      ) => renderOrder(request, reply, typed, { status, message, values, errors, to })
      // Not text or a NUL in the carrier: refused like the schema's refusal (input-guards.ts), first.
      const refused = [...unreadableFields(request), ...unstorableStrings(body)]
      const errors = fieldErrors(
        [...refused, ...(request.validationError?.validation ?? [])],
        body as Record<string, unknown> | undefined,
      )
      if (!errors) return refuse(400, damagedForm)
      const to = body.to as OrderStatus
      if (!(targets as string[]).includes(to) || !/^[1-9][0-9]{0,8}$/.test(body.version)) {
        return refuse(400, damagedForm)
      }
      if (Object.keys(errors).length > 0) return refuse(400, notChanged, errors, to)
      const orderNumber = parseOrderNumber(typed)
      if (orderNumber === undefined) return sendError(request, reply, 404, unknownOrder(typed))
      const result = await changeOrderStatus(app.db, {
        orderNumber,
        to,
        expectedVersions: [Number(body.version)],
        staffId: request.staff?.id ?? null,
        note: body.note,
        carrier: body.carrier,
        trackingNumber: body.trackingNumber,
      })
      switch (result.kind) {
        case 'changed':
          return reply.redirect(orderPath(orderNumber), 303)
        case 'not-found':
          return sendError(request, reply, 404, unknownOrder(typed))
        case 'invalid':
          // Shipping without carrier or tracking number was refused above, field by field.
          return refuse(400, 'Only shipping records a carrier and a tracking number.')
        case 'illegal':
        case 'too-much-stock':
          return refuse(409, result.message)
        case 'stale':
          return refuse(409, changedMeanwhile(result.current))
      }
    },
  )
}

export default adminOrderPages
