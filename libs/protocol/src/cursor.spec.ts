import { describe, expect, it } from 'vitest';
import { CURSOR_KEYS, CURSOR_REFUSAL, MAX_CURSOR_LENGTH, cursorCodec, textCursorKey } from './cursor.js';
import { GatewayError } from './errors.js';

const TOKENS = cursorCodec('tokens', CURSOR_KEYS.uuid);
const AUDIT = cursorCodec('audit', CURSOR_KEYS.timestamp, CURSOR_KEYS.uuid);
const CHAIN = cursorCodec('chain', textCursorKey(/^$|^[a-z]+$/), CURSOR_KEYS.sequence, CURSOR_KEYS.sha256);
const ID = '0190d5f0-7a3c-7e1b-9c4d-2f6a8b9c0d1e';
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/** The message of the `INVALID_MESSAGE` a decode throws, or what went wrong instead. */
function refusal(decode: () => unknown): string {
  try {
    decode();
  } catch (error) {
    return error instanceof GatewayError ? `${error.code}: ${error.message}` : `not a GatewayError: ${String(error)}`;
  }
  return 'accepted';
}

describe('cursor codec', () => {
  it('round-trips the keys it encodes, and reads no cursor as none', () => {
    expect(TOKENS.decode(TOKENS.encode(ID))).toEqual([ID]);
    const at = new Date('2026-03-01T12:34:56.789Z');
    expect(AUDIT.decode(AUDIT.encode(at, ID))).toEqual([at, ID]);
    const hash = 'ab'.repeat(32);
    expect(CHAIN.decode(CHAIN.encode('', 0, hash))).toEqual(['', 0, hash]);
    expect(CHAIN.decode(CHAIN.encode('acme', Number.MAX_SAFE_INTEGER, hash))).toEqual(['acme', Number.MAX_SAFE_INTEGER, hash]);
    expect(TOKENS.decode(undefined)).toBeUndefined();
  });

  it('refuses what it did not issue with INVALID_MESSAGE naming the cursor, and echoes none of it', () => {
    const invalid = `INVALID_MESSAGE: ${CURSOR_REFUSAL}`;
    const garbage = [
      '',
      'eHx5', // "x|y": the key of no list
      '!!!',
      'x'.repeat(600),
      b64(ID), // the previous format: a bare key
      b64(JSON.stringify(['tokens', 'x|y'])), // this list, a key that is no uuid
      b64(JSON.stringify(['tokens', ID.toUpperCase()])), // a uuid Postgres never writes
      b64(JSON.stringify(['tokens', ID, ID])), // one key part too many
      b64(JSON.stringify(['tokens', 42])),
      b64(JSON.stringify({ list: 'tokens', key: ID })),
      b64(JSON.stringify(['agents', ID])), // another list's cursor
      AUDIT.encode(new Date(), ID),
      b64(JSON.stringify(['audit', '2026-03-01', ID])), // a date, not the instant written
      b64(JSON.stringify(['audit', '2026-02-30T00:00:00.000Z', ID])), // no such day
      b64(JSON.stringify(['chain', 'acme', '01', 'ab'.repeat(32)])), // a second spelling of 1
      b64(JSON.stringify(['chain', 'acme', '-1', 'ab'.repeat(32)])),
      b64(JSON.stringify(['chain', 'acme', '99999999999999999', 'ab'.repeat(32)])), // past 2^53
      b64(JSON.stringify(['chain', 'acme', '1', 'AB'.repeat(32)])),
      b64(JSON.stringify(['chain', "'; DROP TABLE audit_records; --", '1', 'ab'.repeat(32)])),
      `${TOKENS.encode(ID)}=`, // padding: another spelling of the same bytes
      b64(` ${JSON.stringify(['tokens', ID])}`), // whitespace: another spelling of the same JSON
      'not base64 at all',
    ];
    for (const cursor of garbage)
      expect(
        refusal(() => TOKENS.decode(cursor)),
        cursor,
      ).toBe(invalid);
    for (const cursor of garbage)
      expect(
        refusal(() => CHAIN.decode(cursor)),
        cursor,
      ).toBe(invalid);
    expect(refusal(() => AUDIT.decode(TOKENS.encode(ID)))).toBe(invalid);
  });

  it('never issues a cursor it would refuse: a key part that does not validate is a bug, thrown as such', () => {
    expect(() => TOKENS.encode('not-a-uuid')).toThrow(/does not validate/);
    expect(() => CHAIN.encode('acme', 1.5, 'ab'.repeat(32))).toThrow(/does not validate/);
    expect(() => AUDIT.encode(new Date(Number.NaN), ID)).toThrow();
  });

  it('keeps every cursor it issues for the longest keys within the accepted length', () => {
    const longest = cursorCodec('audit-verify', CURSOR_KEYS.tenantId, CURSOR_KEYS.sequence, CURSOR_KEYS.sha256).encode(
      `t${'x'.repeat(63)}`,
      Number.MAX_SAFE_INTEGER,
      'f'.repeat(64),
    );
    expect(longest.length).toBeLessThanOrEqual(MAX_CURSOR_LENGTH);
    expect(cursorCodec('agents', CURSOR_KEYS.agentId).encode(`a${'x'.repeat(127)}`).length).toBeLessThanOrEqual(MAX_CURSOR_LENGTH);
  });
});
