import { describe, expect, it } from 'vitest';
import { parseCookies, serializeCookie } from './cookies.js';

describe('cookies', () => {
  it('parses a Cookie header: trims, unquotes, first duplicate wins, skips nameless parts', () => {
    const cookies = parseCookies(' a=1; b="two" ;a=3; =x; junk; c=');
    expect([...cookies]).toEqual([
      ['a', '1'],
      ['b', 'two'],
      ['c', ''],
    ]);
    expect(parseCookies(undefined).size).toBe(0);
  });

  it('always sets HttpOnly; Secure only when asked; Max-Age 0 deletes', () => {
    expect(serializeCookie('s', 'v', { maxAgeS: 60, secure: false, sameSite: 'Lax' })).toBe(
      's=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax',
    );
    expect(serializeCookie('__Host-s', '', { maxAgeS: 0, secure: true, sameSite: 'Strict' })).toBe(
      '__Host-s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure',
    );
  });
});
