import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'

/**
 * What features add to the document beyond their routes (app.ts passes them): component
 * schemas by name, and OpenAPI 3.1 `webhooks` (requests the service sends, not receives).
 */
export interface OpenapiExtras {
  schemas?: Record<string, unknown>
  webhooks?: Record<string, unknown>
}

/** The OpenAPI description of /api at /openapi.json, and Swagger UI at /docs. */
export default fp(
  async (app, { schemas = {}, webhooks }: OpenapiExtras) => {
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Order service API',
          version: '1.0.0',
          description:
            'Place orders, read them back, and see what sells best in each US state. Money is in integer cents.',
        },
        tags: [{ name: 'products' }, { name: 'orders' }, { name: 'insights' }, { name: 'admin' }],
        // /api/admin/*: a staff API token (npm run staff -- token <email>), see src/staff/access.ts.
        components: {
          securitySchemes: { staffToken: { type: 'http', scheme: 'bearer' } },
          schemas: schemas as never,
        },
        ...(webhooks ? { webhooks: webhooks as never } : {}),
      },
    })
    await app.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      // No badge fetched from validator.swagger.io: the CSP allows images from here only.
      uiConfig: { validatorUrl: null },
      // Swagger UI's own scripts come from /docs/static ('self'), but it injects a <style>
      // element at run time: allow inline styles on these pages only, scripts stay 'self'.
      transformStaticCSP: (header) =>
        header.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
    })
    app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger())
  },
  { name: 'openapi' },
)
