import type { IncomingHttpHeaders } from 'node:http';
import { traceContextFromHeaders, type TransportName } from '#libs/protocol';
import type { AdmittedSession } from '#libs/routing';
import { SPANS, SpanKind, tracing, type Span } from '#libs/telemetry';

/**
 * Runs a connection's admission (and its refusal, so the refusal's log line carries the trace) in
 * the `agw.connect` span, a child of the `traceparent` header of the handshake request if it has a
 * valid one. A pass-through when tracing is off.
 */
export function traceConnect(
  transport: TransportName,
  headers: IncomingHttpHeaders,
  admit: (span: Span | undefined) => Promise<void>,
): Promise<void> {
  if (!tracing.enabled) return admit(undefined);
  return tracing.run(
    SPANS.connect,
    { kind: SpanKind.SERVER, parent: traceContextFromHeaders(headers), attributes: { 'agw.transport': transport } },
    admit,
  );
}

/**
 * What the connect span says about an admitted session: who, and how it authenticated (the method,
 * never the credential).
 */
export function admittedAttributes(span: Span | undefined, admitted: AdmittedSession): void {
  span?.setAttributes({
    'agw.auth.method': admitted.principal.method,
    'agw.agent_id': admitted.principal.agentId,
    'agw.tenant_id': admitted.principal.tenantId,
    'agw.session_id': admitted.id,
  });
}
