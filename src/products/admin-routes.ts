import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { parseIfMatch } from '../lifecycle/etag.ts'
import { ErrorResponse } from '../orders/schemas.ts'
import { refuseValue, sendError } from '../plugins/errors.ts'
import { listAllProducts, restockProduct, updateProduct } from './queries.ts'
import { AdminProduct, ProductPatch, RestockBody, SkuParams } from './schemas.ts'

/** SKUs are case-insensitive everywhere (`mug-001` is MUG-001). */
export const canonicalSku = (sku: string) => sku.trim().toUpperCase()

export const unknownProduct = (sku: string) => `There is no product ${sku}.`

/** A restock refused because the product's version moved on since it was read. */
export const restockedMeanwhile = (sku: string, version: number, stock: number) =>
  `${sku} changed meanwhile (it is at version ${version} now, with ${stock.toLocaleString('en-US')} units): nothing was added. Read it again and restock if more units are still needed.`

/** The restock's optional If-Match, as OpenAPI shows it. */
const RestockHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({
      maxLength: 1000,
      description:
        'The product\'s version as a strong entity tag, such as "3" (`version` in GET /api/admin/products): the units are added only while the product is at that version, so a retry of the same request adds nothing (412)',
    }),
  ),
})

export const tooMuchStock = (sku: string, stock: number) =>
  `${sku} has ${stock.toLocaleString('en-US')} units: that many more would pass the most one product can hold.`

/**
 * The back office's product API (issue 15): the catalogue with stock, price and whether on
 * sale; restock; set the price or take a product off sale and back. For staff and admins
 * (`config.access: 'staff'`; bearer token, enforced by src/staff/access.ts: 401/403).
 */
const adminProductRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/admin/products',
    {
      schema: {
        tags: ['admin'],
        security: [{ staffToken: [] }],
        summary: 'Every product with its stock, price and whether it is on sale',
        response: { 200: Type.Array(AdminProduct) },
      },
      config: { access: 'staff' },
    },
    () => listAllProducts(app.db),
  )

  app.post(
    '/api/admin/products/:sku/restock',
    {
      schema: {
        tags: ['admin'],
        security: [{ staffToken: [] }],
        summary: "Add units to a product's stock",
        description:
          'Adds `units` (1 to 1,000,000) to the stock in one statement (`stock = stock + units`), safe against orders and cancels at the same moment, and one to the product\'s `version`. 409 when the stock would pass 2,147,483,647. Send If-Match with the `version` it was decided on (`If-Match: "3"`) to make a retry safe: the units are added only at that version, so the same request sent again after a timeout answers 412 and adds nothing. Optional, so that a restock stays a plain increment for clients that count deliveries; 400 when it is not entity-tag syntax.',
        params: SkuParams,
        headers: RestockHeaders,
        body: RestockBody,
        response: {
          200: AdminProduct,
          400: ErrorResponse,

          404: ErrorResponse,
          409: ErrorResponse,
          412: ErrorResponse,
        },
      },
      config: { access: 'staff' },
    },
    async (request, reply) => {
      const sku = canonicalSku(request.params.sku)
      const ifMatch = parseIfMatch(request.headers['if-match'])
      if (ifMatch.kind === 'malformed') {
        const message =
          'If-Match must be the product\'s version as a strong entity tag, in double quotes, such as If-Match: "1".'
        return sendError(request, reply, 400, message)
      }
      const expected = ifMatch.kind === 'tags' ? ifMatch.versions : undefined
      const result = await restockProduct(app.db, sku, request.body.units, expected)
      if (result.kind === 'not-found') return sendError(request, reply, 404, unknownProduct(sku))
      if (result.kind === 'too-much') {
        return sendError(request, reply, 409, tooMuchStock(sku, result.stock))
      }
      if (result.kind === 'stale') {
        const { version, stock } = result.product
        const message =
          ifMatch.kind === 'tags' && ifMatch.weak && expected?.length === 0
            ? `If-Match never matches a weak entity tag (W/"…"; RFC 9110 §13.1.1): send the product's version as a strong tag, such as If-Match: "${version}".`
            : restockedMeanwhile(sku, version, stock)
        return sendError(request, reply, 412, message)
      }
      request.log.info({ sku, units: request.body.units, staffId: request.staff?.id }, 'restocked')
      return result.product
    },
  )

  app.patch(
    '/api/admin/products/:sku',
    {
      schema: {
        tags: ['admin'],
        security: [{ staffToken: [] }],
        summary: "Set a product's price, or take it off sale and back",
        description:
          'A new `priceCents` (1 to 10,000,000) applies to orders placed from now on; placed orders keep the unit price they captured. `onSale: false` hides the product from the order form and `GET /api/products`, and orders for it are refused (400, like an unknown product); `true` offers it again.',
        params: SkuParams,
        body: ProductPatch,
        response: { 200: AdminProduct, 400: ErrorResponse, 404: ErrorResponse },
      },
      config: { access: 'staff' },
    },
    async (request, reply) => {
      const sku = canonicalSku(request.params.sku)
      // Ajv removes unknown properties before minProperties could see them: `{stock: 5}`
      // arrives empty, and must not pass for a change.
      const { priceCents, onSale } = request.body
      if (priceCents === undefined && onSale === undefined) {
        return refuseValue(
          request,
          reply,
          { pointer: '' },
          'body: send priceCents, onSale or both.',
        )
      }
      const product = await updateProduct(app.db, sku, { priceCents, onSale })
      if (!product) return sendError(request, reply, 404, unknownProduct(sku))
      request.log.info({ sku, ...request.body, staffId: request.staff?.id }, 'product changed')
      return product
    },
  )
}

export default adminProductRoutes
