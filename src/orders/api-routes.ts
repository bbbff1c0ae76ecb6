import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { refuseRepeatedHeaders } from '../input-guards.ts'
import { refuseValue, sendError } from '../plugins/errors.ts'
import { zipStateMismatch } from '../zip-prefixes.ts'
import { noLookupLimit } from './lookup-misses.ts'
import { unknownOrder } from './order-number.ts'
import type { PriceChange } from './placement.ts'
import { orderRateLimit } from './rate-limit.ts'
import {
  ErrorResponse,
  IdempotencyHeaders,
  mergedLinesProblem,
  normaliseOrderBody,
  Order,
  type OrderLineInput,
  OrderNumberParams,
  OrderRequestBody,
} from './schemas.ts'

/** The Location header of a placed (201) or replayed (200) order, as OpenAPI shows it. */
const orderLocation = {
  location: { type: 'string', description: "The order's address: /api/orders/{orderNumber}" },
}

/** A problem entry for each line of `items` whose SKU is in `skus`, pointing at that SKU. */
function itemErrors(items: readonly { sku: string }[], skus: readonly string[], detail: string) {
  return items.flatMap((item, i) =>
    skus.includes(item.sku) ? [{ pointer: `/items/${i}/sku`, detail }] : [],
  )
}

/** A problem entry for each line that named a unit price its product no longer has. */
function priceErrors(items: readonly OrderLineInput[], prices: readonly PriceChange[]) {
  return items.flatMap((item, i) => {
    const now = prices.find((p) => p.sku === item.sku)
    if (!now || item.unitPriceCents === undefined) return []
    const detail = `the price is now ${now.unitPriceCents} cents`
    return [{ pointer: `/items/${i}/unitPriceCents`, detail }]
  })
}

const orderApiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/api/orders',
    {
      schema: {
        tags: ['orders'],
        summary: 'Place an order',
        description:
          "Retrying with the same Idempotency-Key and body returns the same order; the same key with another body is refused with 422. A line's optional unitPriceCents is the price the client showed: the order is refused with 409 price-changed unless it is the product's price now. Values are trimmed and put in their canonical form before the body schema checks them: sku and state in any case (mug-001, tx), a ZIP+4 with a space or no dash, the e-mail's domain lower-cased (docs/api.md, What is accepted). A ZIP code of another state than customer.state is refused with 400 at /customer/zip, saying whose it is (ZIP code 10001 is in New York, not California.).",
        headers: IdempotencyHeaders,
        body: OrderRequestBody,
        response: {
          200: { ...Order, headers: orderLocation },
          201: { ...Order, headers: orderLocation },
          400: ErrorResponse,
          409: ErrorResponse,
          422: ErrorResponse,
        },
      },
      // One budget per client for this route and the form's POST /orders (security.ts), checked
      // before the body is read. Its 429 and X-RateLimit-* are documented by openapi.ts, while on.
      config: { rateLimit: orderRateLimit },
      // What is validated is what is stored: trimmed, codes in their canonical case.
      // A key given twice is refused for that, before the schema words it as a malformed key.
      preValidation: [
        refuseRepeatedHeaders('idempotency-key'),
        (request, _reply, done) => {
          normaliseOrderBody(request.body)
          done()
        },
      ],
      // Schema failures never reach the handler: count them here.
      onError: (_request, _reply, err, done) => {
        if (err.validation) app.orderMetrics.orderRejected('validation')
        done()
      },
    },
    async (request, reply) => {
      const { items, customer } = request.body
      const problem = mergedLinesProblem(items)
      if (problem) {
        app.orderMetrics.orderRejected('validation')
        return refuseValue(request, reply, { pointer: problem.pointer }, problem.message)
      }
      const wrongZip = zipStateMismatch(customer.zip, customer.state)
      if (wrongZip) {
        app.orderMetrics.orderRejected('validation')
        return refuseValue(request, reply, { pointer: '/customer/zip' }, wrongZip)
      }
      const result = await app.orders.place({
        items,
        customer,
        idempotencyKey: `api:${request.headers['idempotency-key']}`,
      })
      app.orderMetrics.orderOutcome(result.kind)
      switch (result.kind) {
        case 'placed':
        case 'replayed':
          return reply
            .code(result.kind === 'placed' ? 201 : 200)
            .header('location', `/api/orders/${result.order.orderNumber}`)
            .send(result.order)
        case 'key-reused':
          return sendError(
            request,
            reply,
            422,
            'This Idempotency-Key was already used for a different order.',
            { kind: 'idempotency-key-reused' },
          )
        case 'out-of-stock':
          return sendError(
            request,
            reply,
            409,
            `Not enough stock left for ${result.available.map((a) => `${a.sku} (${a.units} left)`).join(', ')}.`,
            {
              kind: 'out-of-stock',
              errors: itemErrors(items, result.skus, 'not enough stock left'),
              available: result.available,
            },
          )
        case 'price-changed':
          return sendError(
            request,
            reply,
            409,
            `The price changed for ${result.prices.map((p) => `${p.sku} (now ${p.unitPriceCents} cents, not ${p.expectedCents})`).join(', ')}; nothing was ordered.`,
            {
              kind: 'price-changed',
              errors: priceErrors(items, result.prices),
              prices: result.prices,
            },
          )
        case 'unknown-product':
          // An off-sale product is refused here too: the statement does not find it.
          return sendError(
            request,
            reply,
            400,
            `items: unknown product or not on sale: ${result.skus.join(', ')}.`,
            {
              kind: 'validation',
              errors: itemErrors(items, result.skus, 'unknown product or not on sale'),
            },
          )
      }
    },
  )

  // The document claims the lookup-miss 429 only while the count is on (orders/plugin.ts):
  // LOOKUP_MISS_MAX=0 or RATE_LIMIT_MAX=0 switch it off, and no lookup is refused then.
  const missesLimited = app.lookupMisses !== noLookupLimit
  app.get(
    '/api/orders/:orderNumber',
    {
      schema: {
        tags: ['orders'],
        summary: 'An order by its number',
        params: OrderNumberParams,
        ...(missesLimited && {
          description: `A client whose lookups found no order LOOKUP_MISS_MAX times in a minute (${app.lookupMisses.max} here) gets 429 with Retry-After until the minute ends; lookups that find an order are not counted.`,
        }),
        response: {
          200: Order,
          404: ErrorResponse,
          ...(missesLimited && { 429: ErrorResponse }),
        },
      },
    },
    async (request, reply) => {
      const refused = app.lookupMisses.refuse(request, reply)
      if (refused) return refused
      const typed = request.params.orderNumber
      const order = await app.orders.find(typed)
      if (order) return order
      app.lookupMisses.miss(request)
      return sendError(request, reply, 404, unknownOrder(typed))
    },
  )
}

export default orderApiRoutes
