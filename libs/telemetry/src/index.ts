/**
 * OpenTelemetry tracing of the gateway: the {@link tracing} facade the hot path calls (a no-op until
 * an OTLP endpoint is configured), and its start and stop. See docs/observability.md.
 */
export { SpanKind, Tracing, tracing } from './tracing.js';
export type { Attributes, Link, Span, SpanOptions, TraceIds } from './tracing.js';
export { TRACER_NAME, exportStats, startTracing, stopTracing } from './start-tracing.js';
export { MESSAGING_SYSTEM, SPANS, spanAttributes } from './spans.js';
