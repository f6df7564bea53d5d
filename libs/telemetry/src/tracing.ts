import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  isSpanContextValid,
  propagation,
  trace,
  type Attributes,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { traceIdOf, type TraceContext } from '#libs/protocol';

export { SpanKind };
export type { Attributes, Link, Span };

/** How {@link Tracing.run} starts its span. */
export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /**
   * The remote parent: a client's `metadata.trace` or `traceparent` header, or the context another
   * node sent over the cluster bus. Without one (or when it is not valid) the span is a child of the
   * active span, or the root of a new trace.
   */
  parent?: TraceContext | undefined;
  /** Start a new trace whatever is active (the audit writer's batch, which only links to its records' traces). */
  root?: boolean;
  links?: Link[];
}

/** The trace and span ids of a record's span: what the audit record stores (`details.trace_id`, `details.span_id`). */
export interface TraceIds {
  trace_id: string;
  span_id: string;
}

/**
 * The one facade the gateway's code calls for tracing. It is process-wide, as OpenTelemetry's own
 * global tracer provider is (and for the same reason: the hot path should not thread it through
 * every constructor). Until {@link activate} — that is, when no OTLP endpoint is configured — it is
 * off: {@link run} calls its function and nothing else, no span object is made, no context is
 * switched, and a client's `metadata.trace` simply travels with the message it came in.
 */
export class Tracing {
  /** Whether a tracer provider is registered (an OTLP endpoint is configured). */
  enabled = false;
  private tracer: Tracer | null = null;

  /** Turns tracing on with the tracer of the registered provider (see `startTracing`). */
  activate(tracer: Tracer): void {
    this.tracer = tracer;
    this.enabled = true;
  }

  /** Turns tracing off again (after the provider shut down). */
  deactivate(): void {
    this.enabled = false;
    this.tracer = null;
  }

  /**
   * Runs `fn` inside a new span named `name`, which ends when `fn` returns or its promise settles.
   * A thrown error marks the span failed with `error.type` (the contract code of a `GatewayError`).
   * When tracing is off this is `fn(undefined)`.
   */
  run<T>(name: string, options: SpanOptions, fn: (span: Span | undefined) => T): T {
    const tracer = this.tracer;
    if (!this.enabled || tracer === null) return fn(undefined);
    const parent = options.root ? ROOT_CONTEXT : options.parent ? propagation.extract(ROOT_CONTEXT, options.parent) : context.active();
    const span = tracer.startSpan(
      name,
      {
        kind: options.kind ?? SpanKind.INTERNAL,
        ...(options.attributes && { attributes: options.attributes }),
        ...(options.links && { links: options.links }),
      },
      parent,
    );
    let result: T;
    try {
      result = context.with(trace.setSpan(parent, span), fn, undefined, span);
    } catch (error) {
      failed(span, error);
      span.end();
      throw error;
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          span.end();
          return value;
        },
        (error: unknown) => {
          failed(span, error);
          span.end();
          throw error;
        },
      ) as T;
    }
    span.end();
    return result;
  }

  /** The W3C context of the active span, to hand to a recipient or another node; undefined when off or none is active. */
  current(): TraceContext | undefined {
    if (!this.enabled) return undefined;
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    if (carrier.traceparent === undefined) return undefined;
    return carrier.tracestate ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate } : { traceparent: carrier.traceparent };
  }

  /**
   * `metadata` as the recipient gets it: with tracing on, its `trace` is the context of the active
   * (delivery) span; with tracing off, `metadata` itself (whatever trace the client sent travels on).
   */
  metadataFor(metadata: Record<string, unknown>): Record<string, unknown> {
    const trace = this.current();
    return trace ? { ...metadata, trace } : metadata;
  }

  /** The ids of the active span, for an audit record or a log line; undefined when off or none is active. */
  ids(): TraceIds | undefined {
    if (!this.enabled) return undefined;
    const spanContext = trace.getActiveSpan()?.spanContext();
    if (!spanContext || !isSpanContextValid(spanContext)) return undefined;
    return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
  }

  /**
   * The trace id an audit record of a client event carries: the active span's when tracing is on,
   * otherwise the one of the `metadata.trace` the client sent (already validated), if any.
   */
  traceIdFor(metadata: Record<string, unknown> | undefined): string | undefined {
    if (this.enabled) return this.ids()?.trace_id;
    const sent = metadata?.trace as TraceContext | undefined;
    return typeof sent?.traceparent === 'string' ? traceIdOf(sent.traceparent) : undefined;
  }
}

function failed(span: Span, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    // A GatewayError: its code and client-facing message, which carry nothing secret.
    span.setAttribute('error.type', code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: String((error as Error).message).slice(0, 256) });
  } else {
    span.setAttribute('error.type', (error as Error | null)?.name ?? 'Error');
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}

/** The process's tracing facade: off until `startTracing` finds an endpoint configured. */
export const tracing = new Tracing();
