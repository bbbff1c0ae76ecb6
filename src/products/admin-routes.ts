import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { parseIfMatch } from '../lifecycle/etag.ts'
import { ErrorResponse } from '../orders/schemas.ts'
import { refuseValue, sendError } from '../plugins/errors.ts'
import { adminApi } from '../staff/schemas.ts'
import { listAllProducts, restockProduct, updateProduct } from './queries.ts'
import { AdminProduct, canonicalSku, ProductPatch, RestockBody, SkuParams } from './schemas.ts'

/** The 404 sentence for a SKU that names no product (canonicalSku's, schemas.ts; blank said in words). */
export const unknownProduct = (sku: string) =>
  sku === '' ? 'There is no product with a blank SKU.' : `There is no product ${sku}.`

/** A restock refused because the product's version moved on since it was read. */
export const restockedMeanwhile = (sku: string, version: number, stock: number) =>
  `${sku} changed meanwhile (it is at version ${version} now, with ${stock.toLocaleString('en-US')} units): nothing was added. Read it again and restock if more units are still needed.`

/** A change (PATCH) refused because the product's version moved on since it was read. */
export const changedMeanwhile = (sku: string, version: number) =>
  `${sku} changed meanwhile (it is at version ${version} now): nothing was changed. Read it again and send the change if it is still wanted.`

/** A product change's optional If-Match (restock, PATCH), as OpenAPI shows it. */
const ProductIfMatch = Type.Object({
  'if-match': Type.Optional(
    Type.String({
      maxLength: 1000,
      description:
        'The product\'s version as a strong entity tag, such as "3" (`version` in GET /api/admin/products): the change is made only while the product is at that version, so a retry of the same request changes nothing (412). `*` matches any product that exists: the change is then unconditional (RFC 9110 §13.1.1)',
    }),
  ),
})

/**
 * The versions a product change's If-Match allows: undefined for none (no header, or `*`,
 * which any existing product matches: RFC 9110 §13.1.1), `[]` when it names none of ours (a
 * weak tag never matches), or 'malformed' (not entity-tag syntax: answered 400).
 */
function expectedVersions(header: string | undefined): readonly number[] | undefined | 'malformed' {
  const ifMatch = parseIfMatch(header)
  if (ifMatch.kind === 'malformed') return 'malformed'
  return ifMatch.kind === 'tags' ? ifMatch.versions : undefined
}

const malformedIfMatch =
  'If-Match must be the product\'s version as a strong entity tag, in double quotes, such as If-Match: "1".'

/**
 * The 412 sentence for a product change whose If-Match did not match: why a weak tag never
 * matches when it named only weak or foreign tags, else `meanwhile` (what changed since).
 */
function staleMessage(header: string | undefined, version: number, meanwhile: string): string {
  const ifMatch = parseIfMatch(header)
  return ifMatch.kind === 'tags' && ifMatch.weak && ifMatch.versions.length === 0
    ? `If-Match never matches a weak entity tag (W/"…"; RFC 9110 §13.1.1): send the product's version as a strong tag, such as If-Match: "${version}".`
    : meanwhile
}

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
        ...adminApi,
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
        ...adminApi,
        summary: "Add units to a product's stock",
        description:
          'Adds `units` (1 to 1,000,000) to the stock in one statement (`stock = stock + units`), safe against orders and cancels at the same moment, and one to the product\'s `version`. 409 when the stock would pass 2,147,483,647. Send If-Match with the `version` it was decided on (`If-Match: "3"`) to make a retry safe: the units are added only at that version, so the same request sent again after a timeout answers 412 and adds nothing. Optional, so that a restock stays a plain increment for clients that count deliveries; `*` is unconditional (any existing product matches it); 400 when it is not entity-tag syntax.',
        params: SkuParams,
        headers: ProductIfMatch,
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
      const expected = expectedVersions(request.headers['if-match'])
      if (expected === 'malformed') return sendError(request, reply, 400, malformedIfMatch)
      const result = await restockProduct(app.db, sku, request.body.units, expected)
      if (result.kind === 'not-found') return sendError(request, reply, 404, unknownProduct(sku))
      if (result.kind === 'too-much') {
        return sendError(request, reply, 409, tooMuchStock(sku, result.stock))
      }
      if (result.kind === 'stale') {
        const { version, stock } = result.product
        const meanwhile = restockedMeanwhile(sku, version, stock)
        return sendError(
          request,
          reply,
          412,
          staleMessage(request.headers['if-match'], version, meanwhile),
        )
      }
      request.log.info({ sku, units: request.body.units, staffId: request.staff?.id }, 'restocked')
      return result.product
    },
  )

  app.patch(
    '/api/admin/products/:sku',
    {
      schema: {
        ...adminApi,
        summary: "Set a product's price, or take it off sale and back",
        description:
          'A new `priceCents` (1 to 10,000,000) applies to orders placed from now on; placed orders keep the unit price they captured. `onSale: false` hides the product from the order form and `GET /api/products`, and orders for it are refused (400, like an unknown product); `true` offers it again. Send If-Match with the `version` the change was decided on (`If-Match: "3"`) so that it is not made over another one made meanwhile: at another version it answers 412 and changes nothing. Optional; `*` is unconditional (any existing product matches it); 400 when it is not entity-tag syntax.',
        params: SkuParams,
        headers: ProductIfMatch,
        body: ProductPatch,
        response: {
          200: AdminProduct,
          400: ErrorResponse,
          404: ErrorResponse,
          412: ErrorResponse,
        },
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
      const expected = expectedVersions(request.headers['if-match'])
      if (expected === 'malformed') return sendError(request, reply, 400, malformedIfMatch)
      const result = await updateProduct(app.db, sku, { priceCents, onSale }, expected)
      if (result.kind === 'not-found') return sendError(request, reply, 404, unknownProduct(sku))
      if (result.kind === 'stale') {
        const meanwhile = changedMeanwhile(sku, result.product.version)
        const message = staleMessage(request.headers['if-match'], result.product.version, meanwhile)
        return sendError(request, reply, 412, message)
      }
      request.log.info({ sku, ...request.body, staffId: request.staff?.id }, 'product changed')
      return result.product
    },
  )
}

export default adminProductRoutes
