import { isTraceparent, isTracestate, traceIdOf, type TraceContext } from '#libs/protocol';
import { MESSAGING_SYSTEM, spanAttributes, type Attributes } from '#libs/telemetry';
import type { Caller } from './session.js';

/**
 * The trace context a client sent with an event (`metadata.trace`), read from the payload before
 * it is validated: only a valid `traceparent` is continued (an invalid one is refused later with
 * INVALID_MESSAGE, under a new trace).
 */
export function clientTrace(payload: unknown): TraceContext | undefined {
  const metadata = field(payload, 'metadata');
  const trace = field(metadata, 'trace');
  const traceparent = field(trace, 'traceparent');
  if (typeof traceparent !== 'string' || !isTraceparent(traceparent)) return undefined;
  const tracestate = field(trace, 'tracestate');
  return typeof tracestate === 'string' && isTracestate(tracestate) ? { traceparent, tracestate } : { traceparent };
}

/**
 * What an audit record adds about the trace when tracing is off: the id of the trace the client
 * sent. (With tracing on, the audit trail stores the ids of the span that recorded it.)
 */
export function traceDetails(sent: TraceContext | undefined): { trace_id?: string } {
  return sent === undefined ? {} : { trace_id: traceIdOf(sent.traceparent) };
}

/**
 * A message's metadata as sent: an HTTP caller's header trace context goes in `metadata.trace`
 * unless the body has one (with tracing on, delivery replaces it with the delivery span's).
 */
export function withCallerTrace(caller: Caller, metadata: Record<string, unknown> | undefined): Record<string, unknown> {
  if (caller.trace === undefined || metadata?.trace !== undefined) return metadata ?? {};
  return { ...metadata, trace: caller.trace };
}

/**
 * The attributes of an event's span: OTel messaging conventions where they fit (`messaging.*`),
 * `rpc.*` for A2A and MCP callers (JSON-RPC), `agw.*` for the gateway's own. Never content or a
 * credential.
 */
export function eventAttributes(caller: Caller, event: string, payload: unknown, frameBytes: number): Attributes {
  const destination = field(payload, event === 'publish' || event === 'subscribe' || event === 'unsubscribe' ? 'topic' : 'to_agent_id');
  const conversation = field(payload, 'conversation_id');
  const protocol = caller.protocol?.name;
  return spanAttributes({
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.operation.name': event.slice(0, 64),
    'messaging.operation.type': event === 'send' || event === 'publish' || event === 'result' ? 'send' : undefined,
    'messaging.destination.name': typeof destination === 'string' ? destination.slice(0, 256) : undefined,
    'messaging.message.conversation_id': typeof conversation === 'string' ? conversation.slice(0, 256) : undefined,
    'messaging.message.body.size': frameBytes,
    'rpc.system': protocol ? 'jsonrpc' : undefined,
    'rpc.service': protocol,
    'agw.transport': caller.transport,
    'agw.tenant_id': caller.tenantId,
    'agw.agent_id': caller.agentId,
    'agw.session_id': caller.session?.id,
    'agw.auth.method': caller.principal.method,
  });
}

function field(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[name] : undefined;
}
