import type { FastifyReply, onSendHookHandler } from 'fastify'
import fp from 'fastify-plugin'

/**
 * The routes whose every answer (errors, redirects and re-rendered forms included) is
 * `Cache-Control: no-store`, by route template:
 * - the order form (GET /) and its POST: the page carries a fresh idempotency key, and a form
 *   shown again (400, 409, 422, 429, 503) what the shopper typed; a shared cache's copy would
 *   hand the same key, or someone's address, to the next reader (the form shown again is
 *   `private, no-cache` rather than no-store: keptForHistory);
 * - an order by its number (page and API) and POST /api/orders: the shopper's name and address;
 * - everything under /admin and /api/admin (the staff guard, src/staff/access.ts, says so too,
 *   for the answers it gives itself): orders, customers, accounts, the CSV export.
 */
export function storesNothing(url: string): boolean {
  return (
    url === '/' ||
    url === '/orders' ||
    url.startsWith('/orders/') ||
    url === '/api/orders' ||
    url.startsWith('/api/orders/') ||
    url === '/admin' ||
    url.startsWith('/admin/') ||
    url === '/api/admin' ||
    url.startsWith('/api/admin/')
  )
}

/** The answers keptForHistory marked. */
const historyKept = new WeakSet<FastifyReply>()

/**
 * Marks `reply`, the order form shown again as the answer to its POST (400, 409, 422, 429, 503:
 * what was typed and the form's key), `private, no-cache` instead of `no-store`: kept by this
 * browser alone, never by a shared cache, and never reused unasked. Back to it (from the
 * confirmation, once the shopper corrected it) then shows it from the browser's cache: a
 * no-store answer to a POST can only be had by posting again, and Chromium stopped at "Confirm
 * Form Resubmission". Its key is the one posted, so placing it again replays that order (or is
 * the 422 that says it was placed), never a second one.
 */
export function keptForHistory(reply: FastifyReply): void {
  historyKept.add(reply)
}

/**
 * Sets `Cache-Control: no-store` on every answer of the routes storesNothing names, in onSend,
 * so no handler, hook or error path can leave it out or loosen it; only the order form shown
 * again is `private, no-cache` (keptForHistory). Register before the routes: it sees each one as
 * it is added (onRoute). Static files have their own policy (views.ts).
 */
export default fp(
  async (app) => {
    const noStore: onSendHookHandler = (_request, reply, payload, done) => {
      reply.header('cache-control', historyKept.has(reply) ? 'private, no-cache' : 'no-store')
      done(null, payload)
    }
    app.addHook('onRoute', (route) => {
      if (!storesNothing(route.url)) return
      const own = route.onSend
      route.onSend = own ? [noStore, ...[own].flat()] : [noStore]
    })
  },
  { name: 'cache-control' },
)
