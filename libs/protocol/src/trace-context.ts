import * as z from 'zod';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as it travels in a message's
 * `metadata.trace` (contract §3): the `traceparent` and optional `tracestate` header values.
 */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

/**
 * `version-traceid-parentid-flags`, lower-case hex. Version `ff` is invalid, and so are an all-zero
 * trace id or parent id. A version above `00` may carry more (printable) fields after a dash (W3C
 * §3.2.4.1); version `00` is exactly its 55 characters.
 */
const TRACEPARENT = /^(?!ff)([0-9a-f]{2})-(?!0{32})([0-9a-f]{32})-(?!0{16})([0-9a-f]{16})-([0-9a-f]{2})(-[\x21-\x7e]*)?$/;

/** The longest `tracestate` accepted: 32 list members of at most 256 characters is W3C's bound; we keep 512 characters, as its propagators may truncate to. */
export const MAX_TRACESTATE_LENGTH = 512;

/** A `tracestate` list member: `key=value` (W3C §3.3.1: simple or multi-tenant key; printable value without `,` or `=`). */
const TRACESTATE_MEMBER =
  /^[a-z0-9][_0-9a-z\-*/]{0,255}(@[a-z][_0-9a-z\-*/]{0,13})?=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** Whether `value` is a valid `traceparent` header value. */
export function isTraceparent(value: string): boolean {
  const match = TRACEPARENT.exec(value);
  if (!match) return false;
  // Version 00 has exactly four fields.
  return match[1] !== '00' || match[5] === undefined;
}

/** Whether `value` is a `tracestate` within {@link MAX_TRACESTATE_LENGTH} whose list members are well formed (at most 32). */
export function isTracestate(value: string): boolean {
  if (value.length > MAX_TRACESTATE_LENGTH) return false;
  const members = value
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  return members.length <= 32 && members.every((m) => TRACESTATE_MEMBER.test(m));
}

/** The trace id (32 hex digits) of a valid `traceparent`. */
export function traceIdOf(traceparent: string): string {
  return traceparent.slice(3, 35);
}

/** `metadata.trace`: `{ traceparent, tracestate? }`, both W3C-valid, nothing else. */
export const traceContextSchema = z.strictObject({
  traceparent: z.string().refine(isTraceparent, {
    error: 'must be a W3C traceparent (00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>)',
  }),
  tracestate: z
    .string()
    .refine(isTracestate, { error: `must be a W3C tracestate of at most ${MAX_TRACESTATE_LENGTH} characters` })
    .optional(),
});

/**
 * The metadata of a message, result or topic message: free-form JSON, except that `trace`, when
 * present, is a {@link TraceContext}.
 */
export const messageMetadataSchema = z.record(z.string(), z.unknown()).superRefine((metadata, ctx) => {
  if (!('trace' in metadata)) return;
  const parsed = traceContextSchema.safeParse(metadata.trace);
  if (parsed.success) return;
  for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: ['trace', ...issue.path], message: issue.message });
});

/**
 * The trace context of HTTP request headers (`traceparent`, `tracestate`), for the HTTP, A2A and
 * MCP callers: undefined when there is none or it is invalid (W3C: an invalid `traceparent` is
 * ignored and a new trace starts; an invalid `tracestate` is dropped).
 */
export function traceContextFromHeaders(headers: Record<string, string | string[] | undefined>): TraceContext | undefined {
  const parent = headers.traceparent;
  if (typeof parent !== 'string' || !isTraceparent(parent.trim())) return undefined;
  const state = Array.isArray(headers.tracestate) ? headers.tracestate.join(',') : headers.tracestate;
  return {
    traceparent: parent.trim(),
    ...(typeof state === 'string' && state.trim() !== '' && isTracestate(state.trim()) && { tracestate: state.trim() }),
  };
}
