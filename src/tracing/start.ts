import type { Config } from '../config.ts'

/**
 * Flushes the spans still buffered and stops exporting: resolves when done; rejects when the
 * export failed (the collector down) or took over 2 s, the spans then lost.
 */
export type StopTracing = () => Promise<void>

/**
 * Starts OpenTelemetry tracing when a destination is configured: Application Insights
 * (APPLICATIONINSIGHTS_CONNECTION_STRING), any OTLP/HTTP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT),
 * or both. Must run before the app's modules are imported (server.ts imports app.ts only after
 * it): the instrumentations patch `pg` and `node:http` as they are loaded.
 *
 * Neither set: resolves to undefined and loads no OpenTelemetry module at all (sdk.ts, and
 * everything it imports, is imported only past this check), so tracing off costs nothing.
 */
export async function startTracing(config: Config): Promise<StopTracing | undefined> {
  if (!config.APPLICATIONINSIGHTS_CONNECTION_STRING && !config.OTEL_EXPORTER_OTLP_ENDPOINT) return
  const { startSdk } = await import('./sdk.ts')
  return startSdk(config)
}
