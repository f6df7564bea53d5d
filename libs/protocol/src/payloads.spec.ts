import { describe, expect, it } from 'vitest';
import { ERROR_CODES, GatewayError, httpStatusOf, isErrorAck } from './errors.js';
import { describeSchemaError, sendPayloadSchema } from './payloads.js';

describe('payload schemas', () => {
  const problem = (payload: unknown): string => {
    const result = sendPayloadSchema.safeParse(payload);
    if (result.success) throw new Error('expected a failure');
    return describeSchemaError(result.error);
  };

  it('accepts the seed send frame without its type', () => {
    expect(
      sendPayloadSchema.safeParse({
        to_agent_id: 'target-agent-001',
        conversation_id: 'conv-abc-123',
        content: [{ type: 'text', text: 'Hello' }],
        metadata: {},
      }).success,
    ).toBe(true);
  });

  it('describes the first problem with its path', () => {
    expect(problem({ to_agent_id: 'a', content: [{ type: 'text', text: 1 }] })).toBe('content[0].text: expected string, received number');
    expect(problem({ to_agent_id: 'a', content: [{ type: 'text', text: 'x' }], spoof: 1, also: 2 })).toBe('unknown fields "spoof", "also"');
    expect(problem({ content: [{ type: 'text', text: 'x' }] })).toBe('to_agent_id: is required');
  });
});

describe('errors', () => {
  it('maps every code to an HTTP status', () => {
    for (const code of ERROR_CODES) expect(httpStatusOf(code)).toBeGreaterThanOrEqual(400);
    expect(httpStatusOf('RATE_LIMIT')).toBe(429);
  });

  it('round-trips through the wire form without the cause', () => {
    const error = new GatewayError('RATE_LIMIT', 'slow down', { retryAfterMs: 250, cause: new Error('secret detail') });
    expect(error.toBody()).toEqual({ code: 'RATE_LIMIT', message: 'slow down', retry_after_ms: 250 });
    expect(JSON.stringify(error.toBody())).not.toContain('secret');
    expect(GatewayError.fromBody(error.toBody())).toMatchObject({ code: 'RATE_LIMIT', retryAfterMs: 250 });
    expect(isErrorAck({ error: error.toBody() })).toBe(true);
    expect(isErrorAck({ error: { code: 'NOPE' } })).toBe(false);
    expect(isErrorAck({ status: 'delivered' })).toBe(false);
  });
});
