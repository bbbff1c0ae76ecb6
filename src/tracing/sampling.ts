// Imports nothing from OpenTelemetry: tests read it without loading the SDK.

// Probes and scrapes, many a minute, would drown the requests worth reading.
const untraced = new Set(['/healthz', '/readyz', '/metrics'])

/** W3C Trace Context `traceparent` (version 00 and later): its trace-flags, or undefined. */
const traceparent = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-([\da-f]{2})(?:-|$)/

/**
 * Whether a request is traced, decided before any span exists: a `traceparent` it brings says
 * (its sampled flag: the caller's trace is never cut in the middle, nor one it dropped started);
 * without one, TRACE_SAMPLE_RATIO is the chance. A request not traced is handed to the HTTP
 * instrumentation as ignored: no span, no attributes, no context but tracing's "suppressed"
 * (so no query span under it either); a sampler deciding the same later would have let the
 * instrumentation build and carry a span it then drops (docs/benchmarks.md, "Tracing on vs off").
 */
export function tracedRequest(
  path: string,
  parent: string | string[] | undefined,
  ratio: number,
  random: () => number = Math.random,
): boolean {
  if (untraced.has(path)) return false
  const flags = typeof parent === 'string' ? traceparent.exec(parent)?.[1] : undefined
  if (flags !== undefined) return (Number.parseInt(flags, 16) & 1) === 1
  return ratio >= 1 || random() < ratio
}
