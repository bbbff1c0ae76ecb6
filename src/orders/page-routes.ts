import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { KeyedPage } from '../plugins/compression.ts'
import { sendError } from '../plugins/errors.ts'
import { listAllProducts } from '../products/queries.ts'
import type { AdminProduct } from '../products/schemas.ts'
import { localTime } from '../state-time-zones.ts'
import { ttlCache } from '../ttl-cache.ts'
import { usStates } from '../us-states.ts'
import { describe, fieldName } from '../validation.ts'
import { type Customer, customerFields, customerLabels } from './customer.ts'
import { linesProblem, orderLimits } from './limits.ts'
import { orderRateLimit } from './rate-limit.ts'
import {
  formQuantityKey,
  formQuantityMessage,
  normaliseOrderForm,
  OrderForm,
  type OrderLineInput,
  OrderNumberParams,
} from './schemas.ts'

/** The form's fields but the quantities as its messages name them. */
const labels: Record<string, string> = {
  ...customerLabels,
  idempotencyKey: 'This form',
}
/** A product's quantity field, as the form names it and its messages key it. */
const quantityField = (sku: string) => `qty-${sku}`
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
    const fields = body as Record<string, unknown>
    // for…in, not Object.entries: no array per field (the form has one per product).
    for (const k in fields) {
      if (!Object.hasOwn(fields, k)) continue
      const v = fields[k]
      const first = Array.isArray(v) ? v[0] : v
      const kept = k in labels || formQuantityKey.test(k)
      if (kept && first !== undefined && first !== null) values[k] = String(first)
    }
  }
  return values
}

/** A form line: a product with a quantity above 0, and the field it was typed in. */
interface FormLine extends OrderLineInput {
  field: string
}

/**
 * The lines the shopper chose: each `qty-<SKU>` field holding digits (those with a message
 * already are left out) and a quantity above 0, empty being 0. A number too long to be exact
 * is Infinity, so it still fails the limit instead of wrapping.
 */
function formLines(values: Record<string, string>, errors: Record<string, string>): FormLine[] {
  const lines: FormLine[] = []
  for (const field in values) {
    if (!Object.hasOwn(values, field)) continue
    const value = values[field] as string
    const sku = formQuantityKey.exec(field)?.[1]
    if (sku === undefined || errors[field] || !/^[0-9]*$/.test(value)) continue
    const quantity = value === '' ? 0 : Number(value)
    if (quantity > 0) lines.push({ sku: sku.toUpperCase(), quantity, field })
  }
  return lines
}

/** Whether the form shows the product of a quantity field. */
const shown = (products: readonly AdminProduct[], field: string) =>
  products.some((p) => quantityField(p.sku) === field)

const productName = (products: readonly AdminProduct[], sku: string) =>
  products.find((p) => p.sku === sku)?.name ?? sku

/** `Quantity of Coffee Mug`: how a message names a quantity field. */
function quantityLabel(products: readonly AdminProduct[], field: string): string {
  const sku = formQuantityKey.exec(field)?.[1]?.toUpperCase()
  return sku === undefined ? field : `Quantity of ${productName(products, sku)}`
}

/** `A`, `A and B`, `A, B and C`. */
function listed(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
}

const pageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Every form render lists the catalogue, products off sale too (shown, not choosable); stock
  // shown a second late is fine (the order checks it).
  const catalogue = ttlCache((_: 'all') => listAllProducts(app.db), 1000)

  async function renderForm(reply: FastifyReply, status: number, state: FormState = {}) {
    const products = await catalogue('all')
    return reply.code(status).view('order-form.eta', {
      products,
      values: state.values ?? {},
      errors: state.errors ?? {},
      notice: state.notice,
      idempotencyKey: state.idempotencyKey ?? randomUUID(),
      limits: orderLimits,
    })
  }

  // The blank form is the same page for everyone but its idempotency key. Rendering and
  // encoding 15 kB of HTML per request was the largest CPU cost of the shopper flow, so it is
  // rendered once a second and sent as bytes with a fresh key spliced in; compressed, the part
  // before the key is compressed once too (KeyedPage: the key sits at the form's end for that).
  const keySlot = 'IDEMPOTENCY-KEY-SLOT'
  const blankForm = ttlCache(async (_: 'all') => {
    const html = await app.view('order-form.eta', {
      products: await catalogue('all'),
      values: {},
      errors: {},
      idempotencyKey: keySlot,
      limits: orderLimits,
    })
    const [head = '', tail = ''] = html.split(keySlot)
    return new KeyedPage(head, tail)
  }, 1000)

  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    const form = await blankForm('all')
    reply.type('text/html; charset=utf-8')
    return form.send(reply, app.answerEncoding(request), randomUUID())
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
      const products = await catalogue('all')
      const values = typedValues(request.body)
      const errors: Record<string, string> = {}
      for (const e of request.validationError?.validation ?? []) {
        const field = fieldName(e) || 'idempotencyKey'
        const label = labels[field] ?? quantityLabel(products, field)
        errors[field] ??=
          e.keyword === 'required' ? `${label} is required.` : `${label} ${describe(e)}.`
      }
      const lines = formLines(values, errors)
      const problem = Object.keys(errors).some((f) => formQuantityKey.test(f))
        ? undefined
        : linesProblem(lines.map(({ sku, quantity }) => ({ sku, quantity })))
      if (problem?.kind === 'no-lines') {
        errors.items = 'Choose at least one product: give it a quantity of 1 or more.'
      } else if (problem?.kind === 'too-many-lines') {
        errors.items = `An order can hold at most ${orderLimits.maxLines} products; you chose ${problem.lines}.`
      } else if (problem?.kind === 'line-over') {
        for (const line of lines.filter((l) => l.sku === problem.sku)) {
          errors[line.field] = `${quantityLabel(products, line.field)} ${formQuantityMessage}.`
        }
      }
      // A quantity field of a product the form does not show (an old or edited form).
      if (Object.keys(errors).some((f) => formQuantityKey.test(f) && !shown(products, f))) {
        errors.items ??= 'Choose a product from the list.'
      }
      if (Object.keys(errors).length > 0) {
        const key =
          values.idempotencyKey && !errors.idempotencyKey ? values.idempotencyKey : undefined
        app.orderMetrics.orderRejected('validation')
        return renderForm(reply, 400, { values, errors, idempotencyKey: key })
      }

      const { idempotencyKey, ...body } = request.body
      const customer = Object.fromEntries(customerFields.map((f) => [f.field, body[f.field]]))
      const result = await app.orders.place({
        items: lines.map(({ sku, quantity }) => ({ sku, quantity })),
        customer: customer as Customer,
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
        case 'out-of-stock': {
          const short: Record<string, string> = {}
          for (const sku of result.skus) {
            short[quantityField(sku)] = 'Sorry, there is not enough stock left for that quantity.'
          }
          const names = result.skus.map((sku) => productName(products, sku))
          return renderForm(reply, 409, {
            values,
            idempotencyKey,
            errors: short,
            notice: `Not enough stock left for ${listed(names)}. Lower the quantity or set it to 0; everything else is as you filled it in.`,
          })
        }
        case 'unknown-product': {
          const gone: Record<string, string> = { items: 'Choose a product from the list.' }
          for (const sku of result.skus) {
            gone[quantityField(sku)] = 'This product is not on sale any more.'
          }
          return renderForm(reply, 400, { values, idempotencyKey, errors: gone })
        }
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
      // The page shows a shopper's address: no-store (plugins/cache-control.ts).
      const topProducts = await app.topProducts(order.customer.state)
      return reply.view('confirmation.eta', {
        order,
        topProducts,
        stateName: usStates[order.customer.state] ?? order.customer.state,
        // When it was placed where the parcel goes; the <time> element keeps the UTC instant.
        placedAt: localTime(order.createdAt, order.customer.state),
      })
    },
  )
}

export default pageRoutes
