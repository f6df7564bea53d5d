import { describe, expect, it } from 'vitest';
import { GatewayError } from '#libs/protocol';
import { SecretBox } from './secret-box.js';

const KEY = 'k'.repeat(20) + '-first-secrets-key-0001';
const OTHER = 'o'.repeat(20) + '-other-secrets-key-0002';

function refusal(run: () => unknown): GatewayError {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('SecretBox (AES-256-GCM under a key derived from SECRETS_KEY)', () => {
  it('opens what it sealed, with a fresh IV each time, and the key id beside it', () => {
    const box = new SecretBox(KEY);
    const a = box.seal('{"type":"bearer","token":"s3cret"}', 'agent-1');
    const b = box.seal('{"type":"bearer","token":"s3cret"}', 'agent-1');
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(a.ciphertext).not.toContain('s3cret');
    expect(a.ciphertext).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(a.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(a.keyId).toBe(b.keyId);
    expect(box.open(a, 'agent-1')).toBe('{"type":"bearer","token":"s3cret"}');
    expect(box.isCurrent(a)).toBe(true);
  });

  it('derives the same key id from the same SECRETS_KEY and another from another', () => {
    expect(new SecretBox(KEY).seal('x', 'c').keyId).toBe(new SecretBox(KEY).seal('y', 'c').keyId);
    expect(new SecretBox(KEY).seal('x', 'c').keyId).not.toBe(new SecretBox(OTHER).seal('x', 'c').keyId);
  });

  it('refuses a ciphertext of another key with a clear error naming both key ids, never a silent loss', () => {
    const sealed = new SecretBox(KEY).seal('secret', 'agent-1');
    const other = new SecretBox(OTHER);
    const error = refusal(() => other.open(sealed, 'agent-1'));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.reason).toBe('secrets_key_mismatch');
    expect(error.message).toContain(sealed.keyId);
    expect(error.message).toContain('SECRETS_KEY');
    expect(error.message).not.toContain('secret"');
  });

  it('opens a ciphertext of the previous key during a rotation (SECRETS_KEY_PREVIOUS), sealing new ones with the current key', () => {
    const old = new SecretBox(KEY).seal('secret', 'agent-1');
    const rotated = new SecretBox(OTHER, [KEY]);
    expect(rotated.open(old, 'agent-1')).toBe('secret');
    expect(rotated.isCurrent(old)).toBe(false);
    expect(rotated.seal('new', 'agent-1').keyId).toBe(new SecretBox(OTHER).seal('x', 'y').keyId);
  });

  it('refuses a tampered ciphertext, tag or IV, and a ciphertext moved to another record', () => {
    const box = new SecretBox(KEY);
    const sealed = box.seal('secret value', 'agent-1');
    const [format, iv, tag, body] = sealed.ciphertext.split('.') as [string, string, string, string];
    const flip = (part: string) => {
      const bytes = Buffer.from(part, 'base64url');
      bytes[0] = bytes[0]! ^ 0x01;
      return bytes.toString('base64url');
    };
    for (const ciphertext of [
      [format, iv, tag, flip(body)].join('.'),
      [format, iv, flip(tag), body].join('.'),
      [format, flip(iv), tag, body].join('.'),
      [format, iv, tag].join('.'),
      `v2.${iv}.${tag}.${body}`,
    ]) {
      const error = refusal(() => box.open({ ciphertext, keyId: sealed.keyId }, 'agent-1'));
      expect(error.reason, ciphertext).toBe('secret_unreadable');
    }
    expect(refusal(() => box.open(sealed, 'agent-2')).reason).toBe('secret_unreadable');
  });

  it('without SECRETS_KEY: sealing is a clear INVALID_MESSAGE, opening a clear UNAVAILABLE', () => {
    const box = new SecretBox(undefined);
    expect(box.configured).toBe(false);
    const seal = refusal(() => box.seal('x', 'agent-1'));
    expect(seal).toMatchObject({ code: 'INVALID_MESSAGE', reason: 'secrets_key_missing' });
    expect(seal.message).toContain('SECRETS_KEY');
    const sealed = new SecretBox(KEY).seal('x', 'agent-1');
    expect(refusal(() => box.open(sealed, 'agent-1'))).toMatchObject({ code: 'UNAVAILABLE', reason: 'secrets_key_missing' });
  });

  it('refuses a key shorter than 32 characters', () => {
    expect(() => new SecretBox('short')).toThrow(/32/);
  });
});
