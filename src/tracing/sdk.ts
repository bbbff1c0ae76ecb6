import { createRequire } from 'node:module'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { context, trace } from '@opentelemetry/api'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node'
import type { Config } from '../config.ts'
import { setTraceLogFields } from './log-context.ts'
import type { StopTracing } from './start.ts'

// Probes and scrapes, many a minute, would drown the requests worth reading.
const untraced = new Set(['/healthz', '/readyz', '/metrics'])

/**
 * The tracer provider with its exporters, the instrumentations, and the log lines' trace fields.
 * Spans: one SERVER span per request from the HTTP instrumentation, named `POST /api/orders`
 * (method and route template: @fastify/otel gives it the route) with its status code; under it
 * @fastify/otel's `request` and handler spans (no span per lifecycle hook: a dozen a request
 * for nothing a reader needs), and a CLIENT span per PostgreSQL statement (`pg.query:…`, its
 * text with placeholders, never the values). Statements outside any request (the sales fold, the
 * webhook dispatcher's polling, several a second) make no trace: requireParentSpan.
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
    }),
    // A request that arrives with a sampled traceparent is traced whatever the ratio, so a
    // caller's trace is never cut in the middle; a new trace is kept with TRACE_SAMPLE_RATIO.
    sampler: new ParentBasedSampler({
      root: new TraceIdRatioBasedSampler(config.TRACE_SAMPLE_RATIO),
    }),
    spanProcessors: processors,
  })
  // Registers the AsyncLocalStorage context manager and the W3C traceparent propagator.
  provider.register()

  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => untraced.has((req.url ?? '').split('?')[0] ?? ''),
        // Outgoing calls outside a request (webhook deliveries run from the dispatcher's loop).
        requireParentforOutgoingSpans: true,
      }),
      // No span per pool checkout: one per statement is enough to read, and halves the spans.
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
      // Subscribes to Fastify's 'fastify.initialization' diagnostics channel: every app built
      // from now on is instrumented without app.ts knowing about tracing.
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        instrumentHooks: false,
      }),
    ],
  })
  // pg and fastify are CommonJS: Node 24 loads them through require() even from an import, so
  // require-in-the-middle patches them as app.ts loads them, with no ESM loader hook (none is
  // registered: test/ops/tracing.test.ts shows the query spans). node:http is patched when it
  // is required; fastify requires it, but an import of node:http is not seen, so require it
  // here, whoever loads it first.
  createRequire(import.meta.url)('node:http')

  const none: Record<string, string> = {}
  setTraceLogFields(() => {
    const span = trace.getSpan(context.active())
    if (!span) return none
    const { traceId, spanId, traceFlags } = span.spanContext()
    return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}` }
  })

  return async () => {
    setTraceLogFields(undefined)
    await provider.shutdown()
  }
}
