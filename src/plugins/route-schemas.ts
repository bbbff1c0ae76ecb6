import type { FastifySchema, HTTPMethods } from 'fastify'
import fp from 'fastify-plugin'

/** A registered route and the inputs its schema declares. */
export interface RouteSchema {
  methods: HTTPMethods[]
  url: string
  schema: FastifySchema | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Every route as registered, with its schema: what test/ops/plain-messages.test.ts walks to
     * send each route every kind of value its schema refuses.
     */
    routeSchemas: RouteSchema[]
  }
}

/** Records every route registered after it (register it first). Startup only: no request cost. */
export default fp(
  async (app) => {
    const routes: RouteSchema[] = []
    app.decorate('routeSchemas', routes)
    app.addHook('onRoute', (route) => {
      routes.push({ methods: [route.method].flat(), url: route.url, schema: route.schema })
    })
  },
  { name: 'route-schemas' },
)
