import fastifyFormbody from '@fastify/formbody'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyServerOptions } from 'fastify'
import type { Config } from './config.ts'
import insights from './insights/plugin.ts'
import insightsRoutes from './insights/routes.ts'
import orderApiRoutes from './orders/api-routes.ts'
import pageRoutes from './orders/page-routes.ts'
import recentOrders from './orders/recent-orders.ts'
import db from './plugins/db.ts'
import errors from './plugins/errors.ts'
import openapi from './plugins/openapi.ts'
import views from './plugins/views.ts'
import productRoutes from './products/routes.ts'
import { formatSchemaErrors } from './validation.ts'

export interface BuildOptions {
  config: Config
  logger?: FastifyServerOptions['logger']
  /** Run the background folder (tests that fold by hand turn it off). */
  folder?: boolean
}

export async function buildApp({ config, logger, folder = true }: BuildOptions) {
  const app = Fastify({
    logger: logger ?? { level: config.LOG_LEVEL },
    bodyLimit: 64 * 1024,
    ajv: {
      customOptions: { allErrors: true, verbose: true },
      // errorMessage carries the sentence a person reads (see validation.ts); Ajv itself ignores it.
      plugins: [(ajv) => ajv.addKeyword('errorMessage')],
    },
    schemaErrorFormatter: formatSchemaErrors,
  }).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(errors)
  await app.register(fastifyFormbody)
  await app.register(views, { config })
  await app.register(openapi)
  await app.register(db, { config })
  await app.register(insights, { config, folder })

  await app.register(recentOrders)
  await app.register(productRoutes)
  await app.register(orderApiRoutes)
  await app.register(insightsRoutes)
  await app.register(pageRoutes)
  return app
}
