import type { FastifyReply, FastifyRequest, FastifySchema, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { readCookie } from '../cookies.ts'
import { guardIds } from '../ids.ts'
import { refuseUnstorableInput } from '../input-guards.ts'
import { backOfficeHome, formPageOf } from '../plugins/back-office.ts'
import { authorizationTwice, bearerCredentials, bearerRefusal } from '../plugins/bearer.ts'
import { routeTakesNoBody } from '../plugins/body-rules.ts'
import { sendError } from '../plugins/errors.ts'
import { givenTwice } from '../plugins/header-lines.ts'
import { insecureSignIn } from './cookies.ts'
import { type Role, type StaffMember, staffByToken } from './queries.ts'
import { safeNext } from './schemas.ts'
import { digest, looksLikeSecret, sameSecret } from './secrets.ts'
import { cookieNames, currentSession } from './sessions.ts'
import { endedKeyOf, signOutRoute } from './sign-in-notes.ts'

/**
 * Who may call a route under /admin or /api/admin, declared in its options:
 * `{ config: { access: 'staff' } }`. `staff` lets staff and admins in, `admin` admins only.
 * `public` is honoured for the sign-in page alone. A route there without a declaration (or with
 * `public` elsewhere) is refused to everyone: forgetting the declaration never opens a route.
 */
export type Access = Role | 'public'

/** A guarded route as registered: what the route enumeration test walks. */
export interface AdminRoute {
  methods: string[]
  url: string
  access: Access | undefined
  /** Its schema: the inputs it declares (test/staff/admin-inputs.test.ts walks them). */
  schema: FastifySchema | undefined
  /** Its page form shows a refused body field itself (input-guards.ts, formShowsRefusals). */
  formShowsRefusals: boolean
  /** Its page shows a refused query parameter itself (input-guards.ts, queryShowsRefusals). */
  queryShowsRefusals: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route under /admin and /api/admin, with the access it declared. */
    adminRoutes: AdminRoute[]
  }
  interface FastifyContextConfig {
    access?: Access
  }
  interface FastifyRequest {
    /** The signed-in staff member (session on pages, bearer token on the API), or null. */
    staff: StaffMember | null
    /** The page session's id and CSRF secret; null for tokens and anonymous requests. */
    staffSession: { id: string; csrfSecret: string } | null
  }
}

/** The one route anybody may call under /admin. */
export const signInPath = '/admin/login'

const isPage = (url: string) => url === '/admin' || url.startsWith('/admin/')
const isApi = (url: string) => url === '/api/admin' || url.startsWith('/api/admin/')
/** Whether a route template is guarded here. */
export const isAdminRoute = (url: string) => isPage(url) || isApi(url)

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Whether `role` may call a route that declares `access` (undefined: nobody). */
export function allows(access: Access | undefined, role: Role): boolean {
  if (access === 'admin') return role === 'admin'
  return access === 'staff'
}

/**
 * Where sign-in leads once a page request found no session: a GET's own address; for a form's
 * POST (its session ended while the page was open), the page the form was on: the Referer when
 * it is this host's and under /admin (safeNext), else the page derived from the route
 * (`/admin/products` for a restock). Never another site: every answer is a path under /admin.
 */
function afterSignIn(request: FastifyRequest): string {
  if (request.method === 'GET') return request.url
  let same: URL | undefined
  try {
    // Both as URLs, so a default port (`localhost:80`) compares equal to none.
    const referer = new URL(request.headers.referer ?? '')
    const here = new URL(`${request.protocol}://${request.host}`)
    same = referer.host === here.host ? referer : undefined
  } catch {
    same = undefined
  }
  return (same && safeNext(`${same.pathname}${same.search}`)) ?? formPageOf(request.url)
}

/**
 * What the API's refusals of a request without a usable token say (the status and challenge are
 * bearerRefusal's, src/plugins/bearer.ts): no bearer token, a malformed Bearer header, two
 * Authorization headers, or a token that is unknown, revoked or of a disabled account.
 */
const apiMessages = {
  none: 'Sign in with a staff API token.',
  malformed:
    'The Authorization header must be "Bearer" and one staff API token, such as Authorization: Bearer <token>.',
  repeated: authorizationTwice,
  token: 'Sign in with a staff API token.',
} as const

/** A string field of a form (or JSON) body: `_csrf`, the sign-in form's `next`. */
function formField(body: unknown, name: string): string | undefined {
  const value =
    body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined
  return typeof value === 'string' ? value : undefined
}

/**
 * The guard of every route under /admin and /api/admin, attached to each as it is registered
 * (onRoute), whatever plugin registers it, so it must be registered before them. It runs
 * before the route's own hooks.
 *
 * - Pages (`/admin…`): the session cookie, checked against the database on every request (a
 *   disabled account or an ended session is refused at once, on every instance). None: 303 to
 *   the sign-in page with `next`. Unsafe methods must carry the session's CSRF token in `_csrf`
 *   (synchronizer token), else 403 (checked before the body's schema: no body at all is 403
 *   too); the sign-in form its pre-session token (double submit).
 * - API (`/api/admin…`): `Authorization: Bearer <token>` only (no cookies, so no CSRF). None,
 *   another scheme or an invalid token: 401 with `WWW-Authenticate: Bearer`; a Bearer header
 *   that is not `Bearer <token>`, or Authorization in two lines: 400 (RFC 6750 §3.1,
 *   bearerRefusal).
 * - Pages refuse Authorization in two lines too (400, the error page), though they sign in by
 *   cookie: a client that sends two cannot mean both, wherever it sends them.
 * - Signed in with a role the route does not allow (or a route without a declaration): 403.
 * - Then, whatever the route's schema says, a path parameter, query or body string that
 *   PostgreSQL cannot store as sent (a NUL, a lone surrogate) is a 400 naming it
 *   (validation.ts, refuseUnstorableInput), before the route's own hooks and schema.
 * Every such answer is `Cache-Control: no-store`.
 */
export default fp(
  async (app, { config }: { config: Config }) => {
    const production = config.NODE_ENV === 'production'
    app.decorateRequest('staff', null)
    app.decorateRequest('staffSession', null)
    const adminRoutes: AdminRoute[] = []
    app.decorate('adminRoutes', adminRoutes)

    /**
     * What the sign-in page should say, as its query (sign-in-notes.ts): a form sent without a
     * live session was not done (`ended=<its key>`; sign-out's is simply done); a page asked for
     * with a session cookie whose session has ended says so (`ended=page`); a first visit, none.
     */
    function signInNoteFor(request: FastifyRequest, url: string): string | undefined {
      const route = `${request.method} ${url}`
      if (route === signOutRoute) return 'done=signed-out'
      if (!safeMethods.has(request.method)) return `ended=${endedKeyOf(route)}`
      const cookie = readCookie(request.headers.cookie, cookieNames(production).session)
      return looksLikeSecret(cookie) ? 'ended=page' : undefined
    }

    async function authenticatePage(request: FastifyRequest): Promise<StaffMember | undefined> {
      const session = await currentSession(app.db, request, production)
      if (!session) return undefined
      request.staffSession = { id: session.id, csrfSecret: session.csrfSecret }
      return session.staff
    }

    /** The token's staff member, or the refusal to send (bearerRefusal) with its challenge set. */
    async function authenticateApi(request: FastifyRequest, reply: FastifyReply) {
      const credentials = bearerCredentials(request)
      if (credentials.kind === 'token' && looksLikeSecret(credentials.token)) {
        const staff = await staffByToken(app.db, digest(credentials.token))
        if (staff) return { staff }
      }
      const { status, challenge } = bearerRefusal('admin', credentials.kind)
      reply.header('www-authenticate', challenge)
      return { refusal: { status, message: apiMessages[credentials.kind] } }
    }

    function guard(url: string, access: Access | undefined) {
      const page = isPage(url)
      const open = access === 'public' && url === signInPath
      return async (request: FastifyRequest, reply: FastifyReply) => {
        reply.header('cache-control', 'no-store')
        if (open) return
        let staff: StaffMember | undefined
        if (page) {
          if (givenTwice(request, 'authorization'))
            return sendError(request, reply, 400, authorizationTwice)
          staff = await authenticatePage(request)
          if (!staff) {
            const next = encodeURIComponent(afterSignIn(request))
            const note = signInNoteFor(request, url)
            return reply.redirect(`${signInPath}?next=${next}${note ? `&${note}` : ''}`, 303)
          }
        } else {
          const api = await authenticateApi(request, reply)
          if (api.refusal) return sendError(request, reply, api.refusal.status, api.refusal.message)
          staff = api.staff
        }
        request.staff = staff
        if (!allows(access, staff.role)) {
          // Not the section's list (`/admin/staff` is refused alike): the home page, open to all.
          const back = page ? backOfficeHome : undefined
          return sendError(request, reply, 403, 'Your role does not allow this.', { back })
        }
      }
    }

    async function checkCsrf(request: FastifyRequest, reply: FastifyReply) {
      if (safeMethods.has(request.method)) return
      const expected =
        request.staffSession?.csrfSecret ??
        (request.routeOptions.url === signInPath
          ? readCookie(request.headers.cookie, cookieNames(production).login)
          : undefined)
      if (expected && sameSecret(expected, formField(request.body, '_csrf'))) return
      const signingIn = request.routeOptions.url === signInPath
      // A second tab's sign-in form (a token of ours, stale) after the first tab signed in, which
      // renewed the form's token: this browser is signed in, so on to where the form led (as GET
      // does), not a 403.
      // Nobody is signed in by it, so a cross-site post gains nothing (login CSRF).
      const stale = signingIn && looksLikeSecret(formField(request.body, '_csrf'))
      if (stale && (await currentSession(app.db, request, production))) {
        return reply.redirect(safeNext(formField(request.body, 'next')) ?? backOfficeHome.href, 303)
      }
      // Over plain HTTP in production the cookie never arrives: reloading would not help.
      const insecure = signingIn && insecureSignIn(production, request)
      return sendError(
        request,
        reply,
        403,
        insecure ||
          'This form has expired or did not come from this site. Please reload the page and try again.',
      )
    }

    app.addHook('onRoute', (route: RouteOptions) => {
      if (!isAdminRoute(route.url)) return
      const access = route.config?.access
      const methods = Array.isArray(route.method) ? route.method : [route.method]
      const { formShowsRefusals = false, queryShowsRefusals = false } = route.config ?? {}
      adminRoutes.push({
        methods,
        url: route.url,
        access,
        schema: route.schema,
        formShowsRefusals,
        queryShowsRefusals,
      })
      if (access === undefined || (access === 'public' && route.url !== signInPath)) {
        app.log.error(
          { route: route.url },
          'admin route without an access declaration: refused to everyone',
        )
      }
      route.onRequest = [guard(route.url, access), ...hooks(route.onRequest)]
      // Before validation: a form that is missing (no body at all) or unreadable as fields is a
      // form without its token, 403 like a wrong token, never a 400 that explains the schema.
      // Then, before the route's own hooks and schema, strings it could not store.
      route.preValidation = [refuseUnstorableInput, ...hooks(route.preValidation)]
      if (isPage(route.url)) route.preValidation = [checkCsrf, ...route.preValidation]
      // An id past its column's range: 404, after the schema checked its digits (ids.ts).
      guardIds(route)
      // A body sent to an API route that reads none: 400, not ignored (body-parsers.ts).
      if (isApi(route.url)) routeTakesNoBody(route)
    })
  },
  { name: 'staff-access', dependencies: ['db'] },
)

/** A route's own hooks of one kind as an array. */
function hooks<T>(own: T | T[] | undefined): T[] {
  return own === undefined ? [] : Array.isArray(own) ? own : [own]
}
