import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import type { Config } from '../config.ts'
import { isDatabaseUnavailable } from '../db/errors.ts'
import { keptForHistory } from '../plugins/cache-control.ts'
import { KeyedPage } from '../plugins/compression.ts'
import { listAllProducts } from '../products/queries.ts'
import { ttlCache } from '../ttl-cache.ts'
import { fieldName, markTypedLengths } from '../validation.ts'
import { formCustomer } from './customer.ts'
import { errorSummary } from './error-summary.ts'
import { formCatalogue, keepShownPrices } from './form-catalogue.ts'
import { checkZipState, fieldMessage, linesMessages, unreadableForm } from './form-messages.ts'
import { normaliseOrderForm } from './form-normalise.ts'
import { refuseCrossSiteForms } from './form-origin.ts'
import { formProblem, noteFormless } from './form-problems.ts'
import { orderFormValidatorCompiler } from './form-validator.ts'
import {
  changesSinceShown,
  checkFields,
  damagedForm,
  type FormState,
  formLimits,
  formLines,
  offSale,
  priceChanges,
  shortStock,
  shown,
  typedValues,
} from './form-values.ts'
import { formAlreadyPlaced, ownOrderCookie, replayForm } from './own-order.ts'
import { orderRateLimit } from './rate-limit.ts'
import {
  formPriceKey,
  formQuantityKey,
  formStrayQuantityKey,
  OrderForm,
  validKey,
} from './schemas.ts'

/** The 409 form's notice when a price changed and changed back before the form was read again. */
const pricesMoved =
  'A price changed while you ordered. Check the prices and place the order again; nothing was ordered yet.'

/** The 503 form's notice: the database did not answer, the typed form comes back. */
const unavailable =
  'Sorry, the shop could not take your order just now. Please try again in a few seconds: everything is as you filled it in, and placing it again orders it once.'

/**
 * The shopper's order form: the page, and what POST /orders answers (the form again, or the way
 * to the order's confirmation page, confirmation-route.ts).
 */
const pageRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const forms = formCatalogue(app.db)
  const formProducts = forms.cached

  /**
   * The form again, with `state`; a chosen product whose price is not the one the submitted form
   * showed, or that is sold out or off sale since, is named in the notice and by its quantity,
   * whatever brought the form back, so neither the new price the page now shows (and holds the
   * order to) nor an order without that product is taken unseen.
   */
  async function renderForm(reply: FastifyReply, status: number, state: FormState = {}) {
    const values = state.values ?? {}
    let { errors = {}, notice } = state
    const products = state.products ?? (await forms.forSubmitted(values, errors))
    const since = changesSinceShown(products, values, errors)
    if (since.sentences.length > 0) {
      const otherwise = Object.keys(errors).length > 0 ? checkFields : since.advice
      notice = `${since.sentences.join(' ')} ${notice ?? otherwise}`
      errors = { ...since.errors, ...errors }
    }
    // Back to this page shows it from the browser's cache, not a resubmission prompt.
    keptForHistory(reply)
    return reply.code(status).view('order-form.eta', {
      products,
      values,
      errors,
      notice,
      placedOrder: state.placedOrder,
      summary: errorSummary(products, errors),
      idempotencyKey: state.idempotencyKey ?? randomUUID(),
      limits: formLimits,
    })
  }

  // The blank form is the same page for everyone but its idempotency key. Rendering and
  // encoding 15 kB of HTML per request was the largest CPU cost of the shopper flow, so it is
  // rendered once a second and sent as bytes with a fresh key spliced in; compressed, the part
  // before the key is compressed once too (KeyedPage: the key sits at the form's end for that).
  const keySlot = 'IDEMPOTENCY-KEY-SLOT'
  const blankForm = ttlCache(async (_: 'all') => {
    const html = await app.view('order-form.eta', {
      products: await formProducts(),
      values: {},
      errors: {},
      idempotencyKey: keySlot,
      limits: formLimits,
    })
    const [head = '', tail = ''] = html.split(keySlot)
    return new KeyedPage(head, tail)
  }, 1000)

  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    const form = await blankForm('all')
    reply.type('text/html; charset=utf-8')
    return form.send(reply, app.answerEncoding(request), randomUUID())
  })

  // A form shown again after POST /orders leaves /orders in the address bar: reloading it as a
  // navigation or typing it leads to the form (HEAD too), not to a 405 page. The API keeps its 405.
  app.get('/orders', { schema: { hide: true } }, (_request, reply) => reply.redirect('/', 303))

  app.post(
    '/orders',
    {
      schema: { hide: true, body: OrderForm },
      validatorCompiler: orderFormValidatorCompiler,
      attachValidation: true,
      // Posted by another site's page (a visitor's browser made to order): 403, body unread.
      onRequest: refuseCrossSiteForms(config.PUBLIC_BASE_URL),
      // One budget per client for this route and POST /api/orders (security.ts), checked once the
      // body is read, so a refusal can show the form again with what was typed.
      config: { rateLimit: { ...orderRateLimit, hook: 'preHandler' } },
      // What is validated is what is stored: trimmed, codes in their canonical case.
      // No body (none sent, or an empty one of another type) is an empty form: Fastify validates
      // no body it does not have, and every required field should say so.
      preValidation: (request, _reply, done) => {
        noteFormless(request)
        request.body ??= {} as typeof request.body
        normaliseOrderForm(request.body)
        done()
      },
      // A field not text (`name=%FF`): the form again, 400, a message by it (to a program,
      // problem details naming it). Rate limit: the form with the reason, unless it is the same
      // as an order placed (its answer lost): that order, a replay. Database down: the form, 503,
      // Retry-After, the same key (placing it again orders once), the catalogue last read or none
      // (quantities hidden). Others: the app's handler.
      errorHandler: async (err: { statusCode?: number; message: string }, request, reply) => {
        if (formProblem(request, reply, err)) return reply
        const unreadable = await unreadableForm(err, formProducts)
        if (unreadable) return renderForm(reply, 400, unreadable)
        const down = isDatabaseUnavailable(err)
        if (err.statusCode !== 429 && !down) throw err
        const values = typedValues(request.body)
        const idempotencyKey = validKey.test(values.idempotencyKey ?? '')
          ? values.idempotencyKey
          : undefined
        if (!down && !request.validationError) {
          const placed = await formAlreadyPlaced(app.db, request.body)
          if (placed) return replayForm(request, reply, placed.orderNumber)
        }
        if (!down) return renderForm(reply, 429, { values, notice: err.message, idempotencyKey })
        request.log.warn({ err }, 'database unavailable')
        reply.header('retry-after', '5')
        // The catalogue last read cannot be confirmed now: the prices the shopper saw stay.
        const known = await formProducts().catch(() => [])
        return renderForm(reply, 503, {
          values,
          notice: unavailable,
          idempotencyKey,
          products: keepShownPrices(known, values),
        })
      },
    },
    async (request, reply) => {
      // No form at all, from a program: the form page would not tell it what to send.
      if (formProblem(request, reply)) {
        app.orderMetrics.orderRejected('validation')
        return reply
      }
      // Down with no catalogue read yet: this throws, and errorHandler shows the form (503).
      const products = await formProducts()
      const invalid = request.validationError?.validation
      // A text that fits as typed but not in NFC, as stored: its message says so.
      markTypedLengths(invalid, request.body)
      // What was typed, as strings: only a form shown again needs it. A valid form's product
      // fields are single strings already, so its lines are read off the body itself.
      let typed: Record<string, string> | undefined
      const values = () => (typed ??= typedValues(request.body))
      const errors: Record<string, string> = {}
      // A field's first error is its message; a length first: a browser's maxlength can cut a
      // long name inside an emoji sequence, and the joiner left at the end is not what to fix.
      const lengthFirst = (e: { keyword: string }) => (e.keyword === 'maxLength' ? 0 : 1)
      for (const e of [...(invalid ?? [])].sort((a, b) => lengthFirst(a) - lengthFirst(b))) {
        const field = fieldName(e) || 'idempotencyKey'
        // A hidden price the page did not write: the form was edited or cut short.
        if (formPriceKey.test(field)) {
          errors.idempotencyKey ??= damagedForm
          continue
        }
        errors[field] ??= fieldMessage(products, field, e, request.body)
      }
      checkZipState(request.body, errors)
      const lines = formLines(invalid ? values() : (request.body as Record<string, string>), errors)
      // Each over 100, and what the lines break of the order limits, said now, beside the other
      // fields' mistakes, not in a later round.
      linesMessages(lines, products, errors)
      // A quantity field of a product the form does not show (an old or edited form), or of no
      // product at all (its name no SKU).
      const notShown = (f: string) =>
        (formQuantityKey.test(f) && !shown(products, f)) || formStrayQuantityKey.test(f)
      if (Object.keys(errors).some(notShown)) {
        errors.items ??= 'Choose a product from the list.'
      }
      if (Object.keys(errors).length > 0) {
        const { idempotencyKey } = values()
        const key = idempotencyKey && !errors.idempotencyKey ? idempotencyKey : undefined
        app.orderMetrics.orderRejected('validation')
        return renderForm(reply, 400, { values: values(), errors, idempotencyKey: key })
      }

      const { idempotencyKey } = request.body
      const result = await app.orders.place({
        items: lines.map(({ sku, quantity, unitPriceCents }) =>
          unitPriceCents === undefined ? { sku, quantity } : { sku, quantity, unitPriceCents },
        ),
        customer: formCustomer(request.body),
        idempotencyKey: `form:${idempotencyKey}`,
      })
      app.orderMetrics.orderOutcome(result.kind)
      switch (result.kind) {
        case 'placed':
        case 'replayed':
          return replayForm(request, reply, result.order.orderNumber)
        case 'key-reused':
          // The first answer may never have reached the browser (a second submit aborts it): the
          // cookie again, so the link to that order works past the lookup limit too.
          reply.header('set-cookie', ownOrderCookie(idempotencyKey, request))
          return renderForm(reply, 422, { values: values(), placedOrder: result.orderNumber })
        case 'out-of-stock': {
          // Read now, not the cached second: the form shows what is left, as its notice says.
          const now = await listAllProducts(app.db)
          const short = shortStock(now, result.available, values())
          return renderForm(reply, 409, { ...short, idempotencyKey, products: now })
        }
        case 'price-changed': {
          // Read now, not the cached second: the form shows the prices the order would be held
          // to, and renderForm names the changed ones (unless changed back meanwhile).
          const now = await listAllProducts(app.db)
          const notice = priceChanges(now, values()).length > 0 ? undefined : pricesMoved
          return renderForm(reply, 409, { values: values(), idempotencyKey, products: now, notice })
        }
        case 'unknown-product': {
          // Read now: the cached second could still offer the product just taken off sale.
          const now = await listAllProducts(app.db)
          const { errors: gone, notice } = offSale(now, result.skus)
          return renderForm(reply, 400, {
            values: values(),
            idempotencyKey,
            errors: gone,
            notice,
            products: now,
          })
        }
      }
    },
  )
}

export default pageRoutes
