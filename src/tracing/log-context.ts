/**
 * The trace fields a log line carries: `{trace_id, span_id, trace_flags}` (hex strings, the
 * names OpenTelemetry's log conventions and its pino instrumentation use) of the span active
 * where the line is written, or `{}` outside any span. Set by the tracing SDK when it starts
 * (sdk.ts); unset when tracing is off, so the logger adds no mixin and no line pays for it.
 * This module imports nothing from OpenTelemetry: the logger reads it whether tracing is on or not.
 */
export type TraceLogFields = () => Record<string, string>

let fields: TraceLogFields | undefined

export function setTraceLogFields(fn: TraceLogFields | undefined): void {
  fields = fn
}

/** The function to mix into every log line, or undefined when tracing is off. */
export const traceLogFields = (): TraceLogFields | undefined => fields
