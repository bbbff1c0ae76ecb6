import type { HTTPMethods } from 'fastify'
import type { App } from '../../src/app.ts'

/**
 * Every route Fastify has registered, read from its own router (printRoutes), not from the
 * guard's list: a route the guard never saw (registered before it, or around it) shows here.
 */
export function registeredRoutes(app: App): { method: HTTPMethods; url: string }[] {
  const routes: { method: HTTPMethods; url: string }[] = []
  const paths: string[] = [] // the full path at each depth of the printed tree
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (!m) continue
    const depth = (m[1] as string).length / 4
    const path = (paths[depth - 1] ?? '') + m[2]
    paths[depth] = path
    paths.length = depth + 1
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) {
      routes.push({ method: method as HTTPMethods, url: path })
    }
  }
  return routes
}

/** A URL that reaches the route: each parameter or wildcard filled in. */
export const concrete = (url: string) => url.replace(/:[^/]+/g, 'x').replace(/\*$/, 'x')
