import { describe, expect, it } from 'vitest';
import { hostNameOf, isUsableHost, rebindingRefusal } from './dns-rebinding.js';

describe('rebindingRefusal', () => {
  const open = { allowedHosts: [], allowedOrigins: [] };
  const listed = { allowedHosts: ['gw.example.com', 'localhost', '[::1]'], allowedOrigins: ['https://app.example.com'] };

  it('accepts any Host when none is listed, and a listed host name on any port', () => {
    expect(rebindingRefusal('whatever.example:8700', undefined, open)).toBeNull();
    for (const host of ['gw.example.com', 'GW.example.com:8443', 'localhost:8700', '[::1]:8700']) {
      expect(rebindingRefusal(host, undefined, listed)).toBeNull();
    }
  });

  it('refuses an unlisted, missing or malformed Host when hosts are listed', () => {
    for (const host of ['attacker.example:8700', undefined, 'gw.example.com@attacker.example', 'gw.example.com/x']) {
      expect(rebindingRefusal(host, undefined, listed)).toMatchObject({ code: 'FORBIDDEN', reason: 'host_not_allowed' });
    }
  });

  it('refuses every Origin unless listed, and accepts a request without one', () => {
    expect(rebindingRefusal('gw.example.com', 'https://app.example.com', listed)).toBeNull();
    expect(rebindingRefusal('gw.example.com', 'https://attacker.example', listed)).toMatchObject({ reason: 'origin_not_allowed' });
    expect(rebindingRefusal('gw.example.com', 'null', open)).toMatchObject({ reason: 'origin_not_allowed' });
    expect(rebindingRefusal('gw.example.com', undefined, open)).toBeNull();
  });
});

describe('Host headers', () => {
  it('give their host name without the port, and are usable in a URL only when well-formed', () => {
    expect(hostNameOf('Gw.Example.com:443')).toBe('gw.example.com');
    expect(hostNameOf('[::1]:80')).toBe('[::1]');
    expect(isUsableHost('127.0.0.1:8700')).toBe(true);
    expect(isUsableHost('a"b')).toBe(false);
    expect(isUsableHost(undefined)).toBe(false);
  });
});
