import { ROOT_CONTEXT, context, propagation, type Context } from '@opentelemetry/api';
import { isTraceparent, isTracestate, type TraceContext } from '#libs/protocol';

/**
 * The W3C trace context of the application's active OpenTelemetry span, if it uses OpenTelemetry
 * (a propagator registered, a span active); undefined otherwise. The SDK depends only on
 * `@opentelemetry/api`, which does nothing until the application registers an SDK.
 */
export function activeTraceContext(): TraceContext | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  const traceparent = carrier.traceparent;
  if (traceparent === undefined || !isTraceparent(traceparent)) return undefined;
  const tracestate = carrier.tracestate;
  return tracestate && isTracestate(tracestate) ? { traceparent, tracestate } : { traceparent };
}

/**
 * The metadata of an outgoing message or result: `metadata.trace` as given, else `explicit` (an
 * option of the call), else the active OpenTelemetry context; the metadata untouched when none.
 */
export function withTraceContext(
  metadata: Record<string, unknown> | undefined,
  explicit?: TraceContext,
): Record<string, unknown> | undefined {
  if (metadata?.trace !== undefined) return metadata;
  const trace = explicit ?? activeTraceContext();
  return trace ? { ...metadata, trace } : metadata;
}

/** The OpenTelemetry context a delivered message's `metadata.trace` names, for running its handler in (ROOT when none). */
export function contextOfMessage(metadata: Record<string, unknown>): Context {
  const trace = metadata.trace as TraceContext | undefined;
  if (typeof trace?.traceparent !== 'string') return context.active();
  return propagation.extract(ROOT_CONTEXT, trace);
}
