import { describe, expect, it } from 'vitest';
import { DISCONNECT_REASONS, type DisconnectReason } from './disconnect-reasons.js';
import { ERROR_CODES } from './errors.js';
import { closeCodeOfReason, closeCodeOfRefusal, isTerminalCloseCode, parseClientFrame } from './websocket.js';

describe('plain WebSocket frames', () => {
  it('splits type and id from the payload', () => {
    expect(parseClientFrame('{"type":"send","id":7,"to_agent_id":"b","content":[]}')).toEqual({
      ok: true,
      type: 'send',
      id: 7,
      payload: { to_agent_id: 'b', content: [] },
    });
    expect(parseClientFrame('{"type":"heartbeat"}')).toEqual({ ok: true, type: 'heartbeat', id: undefined, payload: {} });
  });

  it('refuses what is not a frame, keeping a valid id for the answer', () => {
    const refusal = (text: string, oversize = false) => {
      const parsed = parseClientFrame(text, oversize);
      return parsed.ok ? null : { id: parsed.id, code: parsed.error.code, message: parsed.error.message };
    };
    expect(refusal('{"type":')).toEqual({ id: undefined, code: 'INVALID_MESSAGE', message: 'frame is not valid JSON' });
    expect(refusal('{"type":', true)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(refusal('[1]')).toMatchObject({ code: 'INVALID_MESSAGE' });
    expect(refusal('null')).toMatchObject({ code: 'INVALID_MESSAGE' });
    expect(refusal('{"id":"a"}')).toMatchObject({ id: 'a', message: expect.stringMatching(/^type: /) });
    expect(refusal('{"type":"ping","id":1.5}')).toMatchObject({ id: undefined, message: expect.stringMatching(/^id: /) });
    expect(refusal(`{"type":"ping","id":"${'x'.repeat(129)}"}`)).toMatchObject({ message: expect.stringMatching(/^id: /) });
    expect(refusal('{"type":"ping","id":""}')).toMatchObject({ message: expect.stringMatching(/^id: /) });
  });

  it('maps every terminal disconnect reason into 4400-4499 and every other into 4500-4599', () => {
    for (const [reason, { terminal }] of Object.entries(DISCONNECT_REASONS)) {
      expect(isTerminalCloseCode(closeCodeOfReason(reason as DisconnectReason)), reason).toBe(terminal);
    }
  });

  it('gives every connect refusal a close code: retry only for RATE_LIMIT, LIMIT_EXCEEDED, UNAVAILABLE and TIMEOUT', () => {
    for (const code of ERROR_CODES) {
      const retry = ['RATE_LIMIT', 'UNAVAILABLE', 'TIMEOUT', 'LIMIT_EXCEEDED'].includes(code);
      expect(isTerminalCloseCode(closeCodeOfRefusal(code)), code).toBe(!retry);
    }
  });
});
