import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

/** A route's path template as segments: `/orders/:orderNumber` -> ['', 'orders', ':orderNumber']. */
type Template = { segments: string[]; methods: Set<string> }

/** Whether `path` (split at `/`) is served by the template: `:param` any segment, `*` the rest. */
function serves(template: string[], path: string[]): boolean {
  const wildcard = template.at(-1)?.endsWith('*') ?? false
  if (wildcard ? path.length < template.length : path.length !== template.length) return false
  return template.every((segment, i) => {
    const part = path[i] ?? ''
    if (i === template.length - 1 && wildcard) return part.startsWith(segment.slice(0, -1))
    return segment.startsWith(':') ? part !== '' : segment === part
  })
}

/**
 * One address per page: a URL with a trailing slash that no route serves, or only with an empty
 * parameter (`/orders/7K3QX-M2ZPA/`,
 * `/insights/`, `/api/products/`) is redirected to the same URL without it, query kept, when that
 * URL is a route for the method: 301 for GET and HEAD, 308 (the body is sent again) for others.
 * Anything else goes on to the 404 handler, and a target that would leave the site (`//host`)
 * is never redirected to. Register it after the plugins whose hooks every answer needs
 * (security headers, request log) and before the routes.
 */
export default fp(
  async (app) => {
    const templates: Template[] = []
    app.addHook('onRoute', (route) => {
      if (route.url.length > 1 && route.url.endsWith('/')) return
      const methods = Array.isArray(route.method) ? route.method : [route.method]
      templates.push({
        segments: route.url.split('/'),
        methods: new Set(methods.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]))),
      })
    })

    // A callback hook, not an async one, with its common answer (nothing to do) first: every
    // request passes here, and an async hook costs each one a promise and a turn of the queue.
    // A redirect answers here: the chain then stops (done is not called).
    app.addHook('onRequest', (request, reply, done) => {
      if ((request.is404 || emptyParam(request.params)) && redirected(request, reply)) return
      done()
    })
    /** Redirects to the URL without its trailing slash when that is a route; whether it did. */
    function redirected(request: FastifyRequest, reply: FastifyReply): boolean {
      const [path = '', query] = splitOnce(request.url, '?')
      if (path.length < 2 || !path.endsWith('/')) return false
      const target = path.replace(/\/+$/, '')
      if (!target.startsWith('/') || target.startsWith('//') || target.includes('\\')) return false
      const parts = target.split('/')
      const known = templates.some(
        (t) => t.methods.has(request.method) && serves(t.segments, parts),
      )
      if (!known) return false
      const status = request.method === 'GET' || request.method === 'HEAD' ? 301 : 308
      reply.redirect(query === undefined ? target : `${target}?${query}`, status)
      return true
    }
  },
  { name: 'trailing-slash' },
)

/** Whether a route parameter is empty: `/insights/` reaches `/insights/:state` with state ''. */
function emptyParam(params: unknown): boolean {
  if (!params || typeof params !== 'object') return false
  for (const key in params) if ((params as Record<string, unknown>)[key] === '') return true
  return false
}

function splitOnce(s: string, separator: string): [string, string | undefined] {
  const at = s.indexOf(separator)
  return at < 0 ? [s, undefined] : [s.slice(0, at), s.slice(at + 1)]
}
