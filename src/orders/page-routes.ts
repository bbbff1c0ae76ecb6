import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { sendError } from '../plugins/errors.ts'
import { listProducts } from '../products/queries.ts'
import { ttlCache } from '../ttl-cache.ts'
import { usStates } from '../us-states.ts'
import { describe, fieldName } from '../validation.ts'
import { customerLabels } from './customer.ts'
import { orderRateLimit } from './rate-limit.ts'
import { normaliseOrderForm, OrderForm, OrderNumberParams } from './schemas.ts'

/** The form's fields as its messages name them. */
const labels: Record<string, string> = {
  sku: 'Product',
  quantity: 'Quantity',
  ...customerLabels,
  idempotencyKey: 'This form',
}
const validKey = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

interface FormState {
  values?: Record<string, string>
  errors?: Record<string, string>
  notice?: string
  idempotencyKey?: string
}

/** What the shopper typed, as strings, so a re-rendered form keeps every value. */
function typedValues(body: unknown): Record<string, string> {
  const values: Record<string, string> = {}
  if (body && typeof body === 'object') {
    for (const [k, v] of Object.entries(body)) {
      const first = Array.isArray(v) ? v[0] : v
      if (k in labels && first !== undefined && first !== null) values[k] = String(first)
    }
  }
  return values
}

const pageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Every form render lists the catalogue; stock shown a second late is fine (the order checks it).
  const catalogue = ttlCache((_: 'all') => listProducts(app.db), 1000)

  async function renderForm(reply: FastifyReply, status: number, state: FormState = {}) {
    const products = await catalogue('all')
    return reply.code(status).view('order-form.eta', {
      products,
      values: state.values ?? {},
      errors: state.errors ?? {},
      notice: state.notice,
      idempotencyKey: state.idempotencyKey ?? randomUUID(),
    })
  }

  // The blank form is the same page for everyone but its idempotency key. Rendering and
  // encoding 15 kB of HTML per request was the largest CPU cost of the shopper flow, so it is
  // rendered once a second and sent as bytes with a fresh key spliced in.
  const keySlot = 'IDEMPOTENCY-KEY-SLOT'
  const blankForm = ttlCache(async (_: 'all') => {
    const html = await app.view('order-form.eta', {
      products: await catalogue('all'),
      values: {},
      errors: {},
      idempotencyKey: keySlot,
    })
    const [head = '', tail = ''] = html.split(keySlot)
    return [Buffer.from(head), Buffer.from(tail)] as const
  }, 1000)

  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    const [head, tail] = await blankForm('all')
    return reply
      .type('text/html; charset=utf-8')
      .send(Buffer.concat([head, Buffer.from(randomUUID()), tail]))
  })

  app.post(
    '/orders',
    {
      schema: { hide: true, body: OrderForm },
      attachValidation: true,
      // One budget per client for this route and POST /api/orders (security.ts), checked once the
      // body is read, so a refusal can show the form again with what was typed.
      config: { rateLimit: { ...orderRateLimit, hook: 'preHandler' } },
      // What is validated is what is stored: trimmed, codes in their canonical case.
      preValidation: (request, _reply, done) => {
        normaliseOrderForm(request.body)
        done()
      },
      // Over the rate limit: the form again,
      // with what was typed and the reason; any other error goes on to the app's handler.
      errorHandler: (err: { statusCode?: number; message: string }, request, reply) => {
        if (err.statusCode !== 429) throw err
        const values = typedValues(request.body)
        return renderForm(reply, 429, {
          values,
          notice: err.message,
          idempotencyKey: validKey.test(values.idempotencyKey ?? '')
            ? values.idempotencyKey
            : undefined,
        })
      },
    },
    async (request, reply) => {
      const values = typedValues(request.body)
      if (request.validationError) {
        const errors: Record<string, string> = {}
        for (const e of request.validationError.validation) {
          const field = fieldName(e) || 'idempotencyKey'
          errors[field] ??=
            e.keyword === 'required'
              ? `${labels[field] ?? field} is required.`
              : `${labels[field] ?? field} ${describe(e)}.`
        }
        const key =
          values.idempotencyKey && !errors.idempotencyKey ? values.idempotencyKey : undefined
        app.orderMetrics.orderRejected('validation')
        return renderForm(reply, 400, { values, errors, idempotencyKey: key })
      }

      const { sku, quantity, idempotencyKey, ...customer } = request.body
      const result = await app.orders.place({
        items: [{ sku, quantity: Number(quantity) }],
        customer,
        idempotencyKey: `form:${idempotencyKey}`,
      })
      app.orderMetrics.orderOutcome(result.kind)
      switch (result.kind) {
        case 'placed':
        case 'replayed':
          return reply.redirect(`/orders/${result.order.orderNumber}`, 303)
        case 'key-reused':
          return renderForm(reply, 422, {
            values,
            notice: `This form was already used for order ${result.orderNumber}. Submit again to place a new order.`,
          })
        case 'out-of-stock':
          return renderForm(reply, 409, {
            values,
            idempotencyKey,
            errors: { sku: 'Sorry, there is not enough stock left for that quantity.' },
          })
        case 'unknown-product':
          return renderForm(reply, 400, {
            values,
            idempotencyKey,
            errors: { sku: 'Choose a product from the list.' },
          })
      }
    },
  )

  app.get(
    '/orders/:orderNumber',
    { schema: { hide: true, params: OrderNumberParams } },
    async (request, reply) => {
      const order = await app.orders.find(request.params.orderNumber)
      if (!order) {
        const typed = request.params.orderNumber.trim()
        return sendError(request, reply, 404, `We could not find order ${typed}.`)
      }
      // Typed loosely (lower case, no dash, I/L/O for 1/0): the page has one address. Only once
      // found, so a redirect says no more about a number than the page itself would.
      if (request.params.orderNumber !== order.orderNumber) {
        return reply.redirect(`/orders/${order.orderNumber}`, 301)
      }
      const topProducts = await app.topProducts(order.customer.state)
      // The page shows a shopper's address: never keep it in a shared cache.
      reply.header('cache-control', 'private, no-store')
      return reply.view('confirmation.eta', {
        order,
        topProducts,
        stateName: usStates[order.customer.state] ?? order.customer.state,
      })
    },
  )
}

export default pageRoutes
