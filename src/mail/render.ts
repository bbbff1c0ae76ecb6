import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'
import { formatCents } from '../money.ts'
import type { OrderPlacedData, OrderStatusChangedData } from '../outbox/events.ts'
import { shopName } from './settings.ts'

/**
 * Which e-mail: the order's confirmation (order.placed) or its shipping notice (order.shipped).
 * The event that makes each is in src/webhooks/fan-out.ts (emailKinds); this is what a sender
 * of this release can render.
 */
export const renderedKinds = ['confirmation', 'shipping'] as const
export type EmailKind = (typeof renderedKinds)[number]

/** An e-mail ready to send: the subject, the plain-text part and the HTML part. */
export interface RenderedEmail {
  subject: string
  text: string
  html: string
}

// Its own Eta (the pages' has the site layout and the view plugin's options): HTML-escaped by
// default, templates compiled once and kept.
const eta = new Eta({
  views: fileURLToPath(new URL('../../views', import.meta.url)),
  autoEscape: true,
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
 * views email-confirmation.eta / email-shipping.eta, every value escaped). Both parts hold the
 * order number, each line (name, SKU, quantity, unit price, amount), the total, the shipping
 * address and the absolute link to the order's page.
 */
export function renderOrderEmail(
  kind: EmailKind,
  order: OrderPlacedData | OrderStatusChangedData,
  baseUrl: string,
): RenderedEmail {
  const link = orderLink(baseUrl, order.orderNumber)
  const subject =
    kind === 'confirmation'
      ? `Your ${shopName} order ${order.orderNumber} is placed`
      : `Your ${shopName} order ${order.orderNumber} has shipped`
  const data = { order, link, shopName, title: subject, formatCents }
  const html = eta.render(
    kind === 'confirmation' ? './email-confirmation' : './email-shipping',
    data,
  )
  return { subject, text: plainText(kind, order, link), html }
}

function plainText(
  kind: EmailKind,
  order: OrderPlacedData | OrderStatusChangedData,
  link: string,
): string {
  const c = order.customer
  const intro =
    kind === 'confirmation'
      ? [
          `Thank you, your order ${order.orderNumber} is placed.`,
          'We will e-mail you again when it ships.',
        ]
      : [
          `Your order ${order.orderNumber} has shipped.`,
          `Carrier: ${order.carrier ?? ''}`,
          `Tracking number: ${order.trackingNumber ?? ''}`,
        ]
  const lines = order.items.map(
    (i) =>
      `${i.quantity} x ${i.name} (${i.sku}) at ${formatCents(i.unitPriceCents)}: ${formatCents(i.quantity * i.unitPriceCents)}`,
  )
  return [
    ...intro,
    '',
    ...lines,
    `Total: ${formatCents(order.totalCents)}`,
    '',
    'Shipping to:',
    c.name,
    c.address,
    `${c.city}, ${c.state} ${c.zip}`,
    '',
    `See your order: ${link}`,
    '',
    `${shopName}`,
    '',
  ].join('\n')
}
