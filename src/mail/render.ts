import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'
import { formatCents } from '../money.ts'
import type { OrderPlacedData, OrderStatusChangedData } from '../outbox/events.ts'
import { escapeHtml } from '../text.ts'
import { shopName } from './settings.ts'

/**
 * Which e-mail: the order's confirmation (order.placed), its shipping notice (order.shipped) or
 * its cancellation notice (order.cancelled). The event that makes each is in
 * src/webhooks/fan-out.ts (emailKinds); this is what a sender of this release can render.
 */
export const renderedKinds = ['confirmation', 'shipping', 'cancellation'] as const
export type EmailKind = (typeof renderedKinds)[number]

/** An e-mail ready to send: the subject, the plain-text part and the HTML part. */
export interface RenderedEmail {
  subject: string
  text: string
  html: string
}

type Payload = OrderPlacedData | OrderStatusChangedData

/**
 * Per kind: the subject, the view (views/email-<kind>.eta), the plain text's opening lines, and
 * whether the order's shipping address is shown (not for an order that will not ship).
 */
const kinds: Record<
  EmailKind,
  { subject: string; view: string; intro: (o: Payload) => string[]; shipTo: boolean }
> = {
  confirmation: {
    subject: 'is placed',
    view: './email-confirmation',
    intro: (o) => [
      `Thank you, your order ${o.orderNumber} is placed.`,
      'We will e-mail you again when it ships.',
    ],
    shipTo: true,
  },
  shipping: {
    subject: 'has shipped',
    view: './email-shipping',
    intro: (o) => [
      `Your order ${o.orderNumber} has shipped.`,
      `Carrier: ${o.carrier ?? ''}`,
      `Tracking number: ${o.trackingNumber ?? ''}`,
    ],
    shipTo: true,
  },
  cancellation: {
    subject: 'is cancelled',
    view: './email-cancellation',
    intro: (o) => [
      `Your order ${o.orderNumber} is cancelled: nothing in it will be shipped.`,
      'What was cancelled:',
    ],
    shipTo: false,
  },
}

// Its own Eta (the pages' has the site layout and the view plugin's options): HTML-escaped by
// default, templates compiled once and kept.
const eta = new Eta({
  views: fileURLToPath(new URL('../../views', import.meta.url)),
  autoEscape: true,
  escapeFunction: escapeHtml,
  autoTrim: [false, 'nl'],
  cache: true,
})

/** The absolute link to an order's page: `${baseUrl}/orders/<number>`. */
export function orderLink(baseUrl: string, orderNumber: string): string {
  return `${baseUrl}/orders/${encodeURIComponent(orderNumber)}`
}

/**
 * The e-mail of `kind` for `order` (an outbox payload: the order as the API showed it at the
 * event; for shipping with its carrier and tracking number), in plain text and in HTML (the
 * views email-<kind>.eta, every value escaped). Both parts hold the order number, each line
 * (name, SKU, quantity, unit price, amount), the total, the shipping address (not in a
 * cancellation) and the absolute link to the order's page. Subject: "Your Trailhead Goods order
 * <number> is placed | has shipped | is cancelled". Throws on a kind it does not know (a row
 * of a later release's kind: claimDueEmails takes only renderedKinds).
 */
export function renderOrderEmail(kind: EmailKind, order: Payload, baseUrl: string): RenderedEmail {
  const spec = kinds[kind]
  if (!spec) throw new Error(`no e-mail of kind ${JSON.stringify(kind)}`)
  const link = orderLink(baseUrl, order.orderNumber)
  const subject = `Your ${shopName} order ${order.orderNumber} ${spec.subject}`
  const data = { order, link, shopName, title: subject, formatCents, shipTo: spec.shipTo }
  const html = eta.render(spec.view, data)
  return { subject, text: plainText(spec.intro(order), order, link, spec.shipTo), html }
}

function plainText(intro: string[], order: Payload, link: string, shipTo: boolean): string {
  const c = order.customer
  const lines = order.items.map(
    (i) =>
      `${i.quantity} x ${i.name} (${i.sku}) at ${formatCents(i.unitPriceCents)}: ${formatCents(i.quantity * i.unitPriceCents)}`,
  )
  const address = shipTo
    ? ['Shipping to:', c.name, c.address, `${c.city}, ${c.state} ${c.zip}`, '']
    : []
  return [
    ...intro,
    '',
    ...lines,
    `Total: ${formatCents(order.totalCents)}`,
    '',
    ...address,
    `See your order: ${link}`,
    '',
    `${shopName}`,
    '',
  ].join('\n')
}
