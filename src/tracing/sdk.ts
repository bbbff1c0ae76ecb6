import { subscribe } from 'node:diagnostics_channel'
import type { IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import { context, trace } from '@opentelemetry/api'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node'
import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import type { Config } from '../config.ts'
import { setTraceLogFields } from './log-context.ts'
import { tracedRequest } from './sampling.ts'
import type { StopTracing } from './start.ts'

/**
 * Names the request's server span by its route template (`POST /api/orders`) and sets
 * `http.route`, once Fastify has routed it; the HTTP instrumentation knows only the method.
 */
const nameServerSpan: onRequestHookHandler = (request, _reply, done) => {
  const route = request.routeOptions.url
  const span = route === undefined ? undefined : trace.getActiveSpan()
  if (span?.isRecording()) {
    span.setAttribute('http.route', route as string)
    span.updateName(`${request.method} ${route}`)
  }
  done()
}

/** How long a stop waits for the last spans to be exported, in ms. */
const flushLimitMs = 2000

/**
 * The tracer provider with its exporters, the instrumentations, and the log lines' trace fields.
 * Spans: one SERVER span per traced request from the HTTP instrumentation, named
 * `POST /api/orders` (method and route template) with its status code, and under it a CLIENT
 * span per PostgreSQL statement (`pg.query:…`, its text with placeholders, never the values).
 * Nothing else: no span per Fastify hook or handler (the server span's time is the handler's
 * give or take the framework), no pool-checkout spans, and statements outside any request (the
 * sales fold, the webhook dispatcher's polling, several a second) make no trace
 * (requireParentSpan). Which requests are traced: tracedRequest.
 */
export async function startSdk(config: Config): Promise<StopTracing> {
  // Each exporter is imported only when it is used: the Azure one alone brings @azure/core-*.
  const processors: SpanProcessor[] = []
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http')
    // The base URL, as the OTLP spec defines the variable; traces go to <base>/v1/traces.
    // OTEL_EXPORTER_OTLP_HEADERS (an API key, say) is read by the exporter itself.
    const base = config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${base}/v1/traces` })))
  }
  if (config.APPLICATIONINSIGHTS_CONNECTION_STRING) {
    const { AzureMonitorTraceExporter } = await import('@azure/monitor-opentelemetry-exporter')
    processors.push(
      new BatchSpanProcessor(
        new AzureMonitorTraceExporter({
          connectionString: config.APPLICATIONINSIGHTS_CONNECTION_STRING,
        }),
      ),
    )
  }

  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': config.OTEL_SERVICE_NAME,
      ...(config.APP_REVISION ? { 'service.version': config.APP_REVISION } : {}),
      'process.pid': process.pid,
      // App Service's id of this instance, as /metrics labels it (service_instance_id); the
      // Azure Monitor exporter makes it the spans' cloud_RoleInstance (else the host name).
      ...(process.env.WEBSITE_INSTANCE_ID
        ? { 'service.instance.id': process.env.WEBSITE_INSTANCE_ID }
        : {}),
    }),
    // The ratio is applied per request before any span (tracedRequest): what reaches the
    // sampler is kept, a child as its parent is.
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: processors,
  })
  // Registers the AsyncLocalStorage context manager and the W3C traceparent propagator.
  provider.register()

  const ratio = config.TRACE_SAMPLE_RATIO
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req: IncomingMessage) =>
          !tracedRequest((req.url ?? '').split('?')[0] ?? '', req.headers.traceparent, ratio),
        // Outgoing calls outside a request (webhook deliveries run from the dispatcher's loop).
        requireParentforOutgoingSpans: true,
      }),
      // No span per pool checkout: one per statement is enough to read, and halves the spans.
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
    ],
  })
  // Every Fastify app built from now on names its server spans, without app.ts knowing about
  // tracing: Fastify publishes each new instance on this diagnostics channel.
  subscribe('fastify.initialization', (message) => {
    ;(message as { fastify: FastifyInstance }).fastify.addHook('onRequest', nameServerSpan)
  })
  // pg is CommonJS: Node 24 loads it through require() even from an import, so
  // require-in-the-middle patches it as app.ts loads it, with no ESM loader hook (none is
  // registered: test/ops/tracing.test.ts shows the query spans). node:http is patched when it
  // is required; fastify requires it, but an import of node:http is not seen, so require it
  // here, whoever loads it first.
  createRequire(import.meta.url)('node:http')

  setTraceLogFields((): Record<string, string> => {
    const span = trace.getSpan(context.active())
    // A new object each time, never a shared one: pino merges the line's own fields into what
    // the mixin returns, so a shared {} gathered every earlier line's fields (a review found a
    // clean shutdown's lines carrying the outage's `err` and the start's `migrations`).
    if (!span) return {}
    const { traceId, spanId, traceFlags } = span.spanContext()
    return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}` }
  })

  return async () => {
    setTraceLogFields(undefined)
    // The exporter's own timeout is 10 s (OTEL_EXPORTER_OTLP_TIMEOUT), the whole stop's budget
    // SHUTDOWN_TIMEOUT_MS: a collector that is down must not spend it.
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the exporter did not finish within ${flushLimitMs} ms`)),
        flushLimitMs,
      )
    })
    try {
      await Promise.race([provider.shutdown(), late])
    } finally {
      clearTimeout(timer)
    }
  }
}
