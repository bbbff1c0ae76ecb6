/** The order form's guard against pages of other sites posting it (cross-site request forgery). */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'

/**
 * `https://shop.example` for `PUBLIC_BASE_URL` (`https://shop.example/`), undefined when unset;
 * config.ts has checked that it parses.
 */
export const publicOrigin = (publicBaseUrl: string | undefined): string | undefined =>
  publicBaseUrl ? new URL(publicBaseUrl).origin : undefined

/** The origin of `${protocol}://${host}` as a browser writes it (no default port), or undefined. */
function ownOrigin(request: FastifyRequest): string | undefined {
  try {
    return new URL(`${request.protocol}://${request.host}`).origin
  } catch {
    return undefined
  }
}

/**
 * Whether a browser sent `request` from a page that is not this site's (as Go 1.25's
 * CrossOriginProtection decides; OWASP's CSRF cheat sheet, "Fetch Metadata headers", with the
 * Origin header as the fallback it asks for):
 * - `Sec-Fetch-Site` (Fetch Metadata, sent by every current browser to https:// and localhost
 *   addresses; a page cannot set it): `same-origin` (this site's own form) and `none` (typed,
 *   bookmarked, reloaded) pass; `cross-site`, `same-site` and anything else are refused. A
 *   same-site page is another origin of this registrable domain (a sibling host, or this host
 *   over http://), none of which shows this form: trusting it would let any of them order.
 * - Without it (browsers before 2023, or plain http:// to a host other than localhost): an
 *   `Origin` that is present but neither this request's own (`request.protocol`, which reads
 *   X-Forwarded-Proto from a front end TRUST_PROXY trusts, and its Host) nor `trusted`
 *   (PUBLIC_BASE_URL's origin) is refused, `Origin: null` (a sandboxed frame, a redirect from
 *   another site) included.
 * - Neither header: a program (curl, k6, the bench), which acts for its own user with no
 *   visitor's browser or cookies to borrow, passes.
 */
export function fromAnotherSite(request: FastifyRequest, trusted: string | undefined): boolean {
  const site = request.headers['sec-fetch-site']
  if (site !== undefined) return site !== 'same-origin' && site !== 'none'
  const origin = request.headers.origin
  if (origin === undefined) return false
  // An opaque origin matches nothing, whatever a front end's X-Forwarded-Proto made ours.
  return origin === 'null' || (origin !== trusted && origin !== ownOrigin(request))
}

/** What the refusal page says: nothing was ordered, and where to order from. */
export const crossSiteMessage =
  'This order was sent from a page of another website, not from our order form, so it was not placed and nothing was ordered. To order, fill in the form on this site.'

/**
 * POST /orders' onRequest hook: a form another site's page posted (fromAnotherSite) is refused
 * before its body is read, 403 with a page (as every answer of the form is, whatever Accept
 * says) that says so and links to the form; the rest go on. `publicBaseUrl`: PUBLIC_BASE_URL.
 */
export function refuseCrossSiteForms(publicBaseUrl: string | undefined) {
  const trusted = publicOrigin(publicBaseUrl)
  // A callback hook, not an async one: a form from this site (every order) passes with no
  // promise made and no turn of the microtask queue.
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (!fromAnotherSite(request, trusted)) return done()
    request.log.warn(
      { secFetchSite: request.headers['sec-fetch-site'], origin: request.headers.origin },
      'order form from another site refused',
    )
    // Answered here, so done() is not called: the route goes no further (reply.view sends its
    // own error, and never rejects).
    void reply.code(403).view('error.eta', {
      statusCode: 403,
      title: 'Order not placed',
      message: crossSiteMessage,
      back: { href: '/', label: 'Go to the order form' },
    })
  }
}
