import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { pageQueryWords, type RefusedInput, showRefusedInput } from '../admin/refused-input.ts'
import { formatCents } from '../money.ts'
import { sendError } from '../plugins/errors.ts'
import { tooMuchStock, unknownProduct } from './admin-routes.ts'
import { listAllProducts, restockProduct, updateProduct } from './queries.ts'
import {
  canonicalSku,
  formatPriceRule,
  formatUnitsRule,
  ProductForm,
  ProductsPageQuery,
  parsePriceCents,
  parseUnits,
  SkuParams,
} from './schemas.ts'

/** A refused form: which product's which field, the message, and what was typed. */
interface FormError {
  /** The form's product; none for a refusal of the page's address. */
  sku?: string
  /** Which of the row's fields the message is by; `form` for the row's alert alone. */
  field: 'units' | 'price' | 'form'
  message: string
  /** What was typed in the form's own field (`input`, else `field`), shown there again. */
  value: string
  /** The field typed in on the form sent (the restock form's units), when `field` is another. */
  input?: 'units' | 'price'
}

const damaged = 'This form is damaged: reload the page and try again.'

/**
 * A form's hidden `version` (the product's when the page was shown) as updateProduct and
 * restockProduct take it; undefined for a form without one (a page shown before versions).
 */
function shownVersion(version: string | undefined): number[] | undefined | 'damaged' {
  if (version === undefined) return undefined
  return /^[1-9][0-9]{0,8}$/.test(version) ? [Number(version)] : 'damaged'
}

/** How the products forms' sentences name their fields (src/admin/refused-input.ts). */
const fieldWords = {
  units: 'Units to add',
  price: 'The price',
  onSale: 'On sale',
  version: 'The form’s product version',
}

/** The field a refused form's message goes by: the one typed in, else the row's alert. */
const shownField = (field: string): FormError['field'] =>
  field === 'units' || field === 'price' ? field : 'form'

/**
 * The back office's products page (issue 15): every product with stock, price and whether on
 * sale, and a form per action. Each form posts its `_csrf` (checked by src/staff/access.ts) and
 * answers 303 back to the page, which names the product changed; a value out of range
 * re-renders the page with 400 and the message by its field, an unknown SKU is 404.
 */
const adminProductPages: FastifyPluginAsyncTypebox = async (app) => {
  async function renderPage(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    page: { updated?: string; error?: FormError },
  ) {
    const products = await listAllProducts(app.db)
    // A form's product that does not exist is what to say first, whatever else the form got
    // wrong (a field given twice, a price unreadable): 404, as the same form sent right gets.
    const sku = page.error?.sku
    if (sku !== undefined && !products.some((p) => p.sku === sku)) {
      return sendError(request, reply, 404, unknownProduct(sku))
    }
    const updated = products.find((p) => p.sku === page.updated)
    return reply.code(status).view('admin-products.eta', {
      products,
      updated,
      error: page.error,
      csrf: request.staffSession?.csrfSecret,
    })
  }

  /**
   * The options of the form typing in `input` (none: the sale button): a field given twice,
   * over-long, holding a NUL or not text is the page again with the sentence by the field (or in
   * the alert) and what was typed in `input` kept, whichever field was refused, 400
   * (refused-input.ts).
   */
  const pageOptions = (input?: 'units' | 'price') => ({
    schema: { hide: true, params: SkuParams, body: ProductForm },
    attachValidation: true,
    preHandler: showRefusedInput(fieldWords, (request, reply, refused: RefusedInput) => {
      const sku = canonicalSku((request.params as { sku: string }).sku)
      const typed = input && refused.kept[input]
      return renderPage(request, reply, 400, {
        error: {
          sku,
          field: shownField(refused.field),
          message: refused.message,
          value: typeof typed === 'string' ? typed : '',
          input,
        },
      })
    }),
    config: { access: 'staff' as const, formShowsRefusals: true },
  })

  const back = (reply: FastifyReply, sku: string) =>
    reply.redirect(`/admin/products?updated=${encodeURIComponent(sku)}`, 303)

  app.get(
    '/admin/products',
    {
      schema: { hide: true, querystring: ProductsPageQuery },
      // `?updated=` given twice or holding a NUL (a hand-edited link): the page without its note,
      // 400, saying why (refused-input.ts).
      attachValidation: true,
      preHandler: showRefusedInput(pageQueryWords, (request, reply, { message }) =>
        renderPage(request, reply, 400, { error: { field: 'form', message, value: '' } }),
      ),
      config: { access: 'staff', queryShowsRefusals: true },
    },
    (request, reply) => renderPage(request, reply, 200, { updated: request.query.updated }),
  )

  /**
   * The restock form carries the product's version as the page showed it (hidden `version`):
   * the units are added only at that version, so a second submit of the same form (a double
   * click, a browser's retry) finds it moved on and adds nothing: 409 with the page as it is
   * now, saying so. A form without one (a page shown before versions) adds as before.
   */
  app.post('/admin/products/:sku/restock', pageOptions('units'), async (request, reply) => {
    const sku = canonicalSku(request.params.sku)
    const typed = request.body.units ?? ''
    const units = parseUnits(typed)
    if (units === undefined) {
      const message = `Units to add ${formatUnitsRule}.`
      return renderPage(request, reply, 400, {
        error: { sku, field: 'units', message, value: typed },
      })
    }
    const expected = shownVersion(request.body.version)
    if (expected === 'damaged') return sendError(request, reply, 400, damaged)
    const result = await restockProduct(app.db, sku, units, expected)
    if (result.kind === 'not-found') return sendError(request, reply, 404, unknownProduct(sku))
    if (result.kind === 'stale') {
      const stock = result.product.stock.toLocaleString('en-US')
      const message = `this form was already sent, or the product changed since the page was shown: nothing was added. It has ${stock} units now; add again if more are needed.`
      return renderPage(request, reply, 409, {
        error: { sku, field: 'units', message, value: '' },
      })
    }
    if (result.kind === 'too-much') {
      const message = tooMuchStock(sku, result.stock)
      return renderPage(request, reply, 409, {
        error: { sku, field: 'units', message, value: typed },
      })
    }
    return back(reply, sku)
  })

  /**
   * The price form carries the version too: a price set from a page shown before another change
   * of the product (someone else's price, a restock) is refused (409, the page as it is now),
   * not laid over it unseen.
   */
  app.post('/admin/products/:sku/price', pageOptions('price'), async (request, reply) => {
    const sku = canonicalSku(request.params.sku)
    const typed = request.body.price ?? ''
    const priceCents = parsePriceCents(typed)
    if (priceCents === undefined) {
      const message = `The price ${formatPriceRule}, like 18.50.`
      return renderPage(request, reply, 400, {
        error: { sku, field: 'price', message, value: typed },
      })
    }
    const expected = shownVersion(request.body.version)
    if (expected === 'damaged') return sendError(request, reply, 400, damaged)
    const change = await updateProduct(app.db, sku, { priceCents }, expected)
    if (change.kind === 'not-found') return sendError(request, reply, 404, unknownProduct(sku))
    if (change.kind === 'stale') {
      const now = formatCents(change.product.priceCents)
      const message = `the product changed since the page was shown (another member of staff, or this form sent twice): the price is now ${now} and was not changed. Set it again if it still should be.`
      return renderPage(request, reply, 409, {
        error: { sku, field: 'price', message, value: typed },
      })
    }
    return back(reply, sku)
  })

  app.post('/admin/products/:sku/sale', pageOptions(), async (request, reply) => {
    const sku = canonicalSku(request.params.sku)
    const { onSale } = request.body
    if (onSale !== 'true' && onSale !== 'false') {
      return sendError(request, reply, 400, 'onSale must be true or false.')
    }
    const change = await updateProduct(app.db, sku, { onSale: onSale === 'true' })
    if (change.kind !== 'changed') return sendError(request, reply, 404, unknownProduct(sku))
    return back(reply, sku)
  })
}

export default adminProductPages
