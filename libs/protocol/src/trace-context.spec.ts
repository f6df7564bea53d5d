import { describe, expect, it } from 'vitest';
import { sendPayloadSchema } from './payloads.js';
import { isTraceparent, isTracestate, traceContextFromHeaders, traceIdOf } from './trace-context.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

describe('W3C trace context', () => {
  it('accepts version-00 traceparents and later versions with extra fields, and refuses the invalid ones', () => {
    expect(isTraceparent(`00-${TRACE}-${PARENT}-01`)).toBe(true);
    expect(isTraceparent(`00-${TRACE}-${PARENT}-00`)).toBe(true);
    expect(isTraceparent(`01-${TRACE}-${PARENT}-01-extra`)).toBe(true);
    for (const bad of [
      `00-${TRACE}-${PARENT}-01-extra`,
      `ff-${TRACE}-${PARENT}-01`,
      `00-${'0'.repeat(32)}-${PARENT}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.toUpperCase()}-${PARENT}-01`,
      `00-${TRACE}-${PARENT}`,
      '',
    ])
      expect(isTraceparent(bad), bad).toBe(false);
    expect(traceIdOf(`00-${TRACE}-${PARENT}-01`)).toBe(TRACE);
  });

  it('bounds tracestate: well-formed members, at most 32, at most 512 characters', () => {
    expect(isTracestate('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')).toBe(true);
    expect(isTracestate('tenant@vendor=x')).toBe(true);
    expect(isTracestate('=x')).toBe(false);
    expect(isTracestate('Upper=x')).toBe(false);
    expect(isTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(','))).toBe(false);
    expect(isTracestate(`k=${'v'.repeat(255)},j=${'v'.repeat(255)},l=v`)).toBe(false);
  });

  it('validates metadata.trace in a send: INVALID_MESSAGE material, with the path named', () => {
    expect(
      sendPayloadSchema.safeParse({
        to_agent_id: 'b',
        content: [{ type: 'text', text: 'x' }],
        metadata: { trace: { traceparent: `00-${TRACE}-${PARENT}-01` } },
      }).success,
    ).toBe(true);
    const bad = sendPayloadSchema.safeParse({
      to_agent_id: 'b',
      content: [{ type: 'text', text: 'x' }],
      metadata: { trace: { traceparent: 'nope' } },
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['metadata', 'trace', 'traceparent']);
    expect(
      sendPayloadSchema.safeParse({ to_agent_id: 'b', content: [{ type: 'text', text: 'x' }], metadata: { trace: 'x' } }).success,
    ).toBe(false);
    // Other metadata stays free-form.
    expect(
      sendPayloadSchema.safeParse({ to_agent_id: 'b', content: [{ type: 'text', text: 'x' }], metadata: { tracing: 1 } }).success,
    ).toBe(true);
  });

  it('reads HTTP headers, ignoring an invalid traceparent and dropping an invalid tracestate', () => {
    expect(traceContextFromHeaders({ traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'a=b' })).toEqual({
      traceparent: `00-${TRACE}-${PARENT}-01`,
      tracestate: 'a=b',
    });
    expect(traceContextFromHeaders({ traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: '==' })).toEqual({
      traceparent: `00-${TRACE}-${PARENT}-01`,
    });
    expect(traceContextFromHeaders({ traceparent: 'garbage' })).toBeUndefined();
    expect(traceContextFromHeaders({})).toBeUndefined();
  });
});
