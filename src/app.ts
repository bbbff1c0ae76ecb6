import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify from 'fastify'
import type { DestinationStream } from 'pino'
import adminOrders from './admin/plugin.ts'
import type { Config } from './config.ts'
import insights from './insights/plugin.ts'
import insightsRoutes from './insights/routes.ts'
import lifecycle from './lifecycle/plugin.ts'
import mailer, { type MailerTuning } from './mail/plugin.ts'
import orderApiRoutes from './orders/api-routes.ts'
import confirmationRoute from './orders/confirmation-route.ts'
import pageRoutes from './orders/page-routes.ts'
import orders from './orders/plugin.ts'
import { eventDocs } from './outbox/openapi.ts'
import bodyParsers from './plugins/body-parsers.ts'
import cacheControl from './plugins/cache-control.ts'
import clientAddress, { trustProxy } from './plugins/client-address.ts'
import compression from './plugins/compression.ts'
import contentEncoding from './plugins/content-encoding.ts'
import contentTypeOnce from './plugins/content-type-once.ts'
import db from './plugins/db.ts'
import errors, { frameworkError } from './plugins/errors.ts'
import expectContinue from './plugins/expect-continue.ts'
import health from './plugins/health.ts'
import hostHeader from './plugins/host-header.ts'
import logging, { createLogger, RequestLog, requestId } from './plugins/logging.ts'
import metrics from './plugins/metrics.ts'
import openapi from './plugins/openapi.ts'
import routeSchemas from './plugins/route-schemas.ts'
import security from './plugins/security.ts'
import shutdown from './plugins/shutdown.ts'
import socketAnswers, { clientError } from './plugins/socket-answers.ts'
import trailingSlash from './plugins/trailing-slash.ts'
import views from './plugins/views.ts'
import products from './products/plugin.ts'
import staff from './staff/plugin.ts'
import staffRoutes from './staff/routes.ts'
import { ajvOptions, formatSchemaErrors } from './validation.ts'
import webhookDispatcher, { type DispatcherTuning } from './webhooks/dispatcher-plugin.ts'
import webhookEndpoints from './webhooks/plugin.ts'

export interface BuildOptions {
  config: Config
  /** Where log lines go instead of stdout (tests read them). */
  logStream?: DestinationStream
  /** Run the background sales fold (tests that fold by hand turn it off). */
  salesFold?: boolean
  /** Run the webhook dispatcher (default true unless WEBHOOKS_DISPATCH=off), or tune it (tests). */
  webhookDispatcher?: boolean | DispatcherTuning
  /** Send the order e-mails (default true when SMTP_URL is set), or tune the sender (tests). */
  mailer?: boolean | MailerTuning
  /** Under node:cluster: resolves once every worker has closed the shared port (server.ts). */
  portClosed?: () => Promise<void>
}

/**
 * The app `buildApp` resolves to: a FastifyInstance with the service's pino logger and the
 * TypeBox type provider (neither is the plain `FastifyInstance`, so tests and tools name this).
 */
export type App = Awaited<ReturnType<typeof buildApp>>

export async function buildApp({
  config,
  logStream,
  salesFold = true,
  webhookDispatcher: dispatcher = true,
  mailer: mailSender = true,
  portClosed,
}: BuildOptions) {
  const app = Fastify({
    loggerInstance: createLogger(config, logStream),
    logController: new RequestLog(),
    requestIdHeader: false,
    genReqId: requestId,
    trustProxy: trustProxy(config.TRUST_PROXY),
    bodyLimit: 64 * 1024,
    // A request must have arrived whole (headers and body) within REQUEST_TIMEOUT_MS, or Node
    // answers 408 (socket-answers.ts, clientError) and closes the connection. Fastify's default, 0, let
    // a client that promised a body and never sent it (slowloris) hold a connection forever.
    // Node looks for late requests every connectionsCheckingInterval (30 s by default): a tenth
    // of the timeout here, so one is closed within 110% of it (3 s apart at the default 30 s).
    // Given to Node's constructor too, not only set afterwards as Fastify does: the constructor
    // also lowers headersTimeout (60 s) to it, and while headersTimeout stays above
    // requestTimeout, Node 24 ends a request whose headers came but whose body did not only at
    // headersTimeout (measured: 408 after 60 s, with requestTimeout 1 s set afterwards).
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    http: {
      requestTimeout: config.REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.ceil(config.REQUEST_TIMEOUT_MS / 10),
      // Node answers an HTTP/1.1 request without Host with a bare 400 of its own: host-header.ts
      // answers it instead, with a sentence, as it does a Host given twice.
      requireHostHeader: false,
    },
    // Errors raised before routing, and what Node's HTTP parser refuses, answer like any other.
    frameworkErrors: frameworkError,
    clientErrorHandler: clientError,
    // Fastify's own 503 while closing is a bare JSON body without our headers: shutdown.ts
    // answers it instead, through errors.ts, and keeps the port open a while first.
    return503OnClosing: false,
    // A slow machine is not a broken one: the first start creates the embedded database, which
    // takes 15 s and more on a busy box. No plugin is failed for taking its time.
    pluginTimeout: 0,
    ajv: ajvOptions,
    schemaErrorFormatter: formatSchemaErrors,
  }).withTypeProvider<TypeBoxTypeProvider>()

  // First of the hooks: everything after it reads the client's address without its port.
  await app.register(clientAddress, { config })
  await app.register(routeSchemas)
  await app.register(errors)
  await app.register(socketAnswers)
  await app.register(hostHeader)
  await app.register(shutdown, { drainMs: config.SHUTDOWN_DRAIN_MS, portClosed })
  await app.register(logging)
  await app.register(security, { config })
  await app.register(cacheControl)
  await app.register(compression, { config })
  await app.register(trailingSlash)
  await app.register(bodyParsers)
  await app.register(contentEncoding)
  await app.register(contentTypeOnce)
  await app.register(expectContinue)
  await app.register(views, { config })
  // WEBHOOKS_DISPATCH=only: a process that delivers the webhooks and e-mails and serves only
  // /healthz, /readyz and /metrics, so delivery can run on CPU the order path does not use
  // (README "Deployment"); its sales are folded, and its pages and API served, by the others.
  const dispatchOnly = config.WEBHOOKS_DISPATCH === 'only'
  if (!dispatchOnly) await app.register(openapi, eventDocs)
  await app.register(db, { config })
  await app.register(metrics, { config })
  if (!dispatchOnly) await app.register(insights, { config, salesFold })
  await app.register(webhookDispatcher, { config, dispatcher })
  await app.register(mailer, { config, mailer: mailSender })
  await app.register(health, { config })
  if (dispatchOnly) return app
  // Before every route: it guards each one under /admin and /api/admin as it is registered.
  await app.register(staff, { config })

  await app.register(orders, { config })
  await app.register(products)
  await app.register(orderApiRoutes)
  await app.register(insightsRoutes)
  await app.register(pageRoutes, { config })
  await app.register(confirmationRoute, { config })
  await app.register(staffRoutes, { config })
  await app.register(lifecycle)
  await app.register(adminOrders)
  await app.register(webhookEndpoints, { config })
  return app
}
