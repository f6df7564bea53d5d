import { describe, expect, it } from 'vitest';
import { resolveClientAddress } from './client-address.js';
import { certificateFromXfcc } from './client-certificate.js';
import { parseXfcc } from './xfcc.js';

describe('parseXfcc (Envoy X-Forwarded-Client-Cert)', () => {
  it('splits elements and pairs, keeps quoted commas and escaped quotes, joins repeated URIs', () => {
    expect(parseXfcc('By=spiffe://a/gw;Hash=AB12;Subject="CN=agent,OU=ops";URI=spiffe://a/x;URI=spiffe://a/y,Hash=cd34;DNS=h')).toEqual([
      { by: 'spiffe://a/gw', hash: 'AB12', subject: 'CN=agent,OU=ops', uri: 'spiffe://a/x,spiffe://a/y' },
      { hash: 'cd34', dns: 'h' },
    ]);
    expect(parseXfcc('Subject="CN=a \\"quoted\\""')).toEqual([{ subject: 'CN=a "quoted"' }]);
    expect(parseXfcc('')).toEqual([]);
  });

  it('turns one element into a certificate identity, refusing several or a missing hash', () => {
    expect(certificateFromXfcc(`Hash=${'AB'.repeat(32)};URI=spiffe://corp/agent/a;Subject="CN=agent-a"`)).toMatchObject({
      source: 'xfcc',
      verified: true,
      fingerprint256: 'ab'.repeat(32),
      spiffeIds: ['spiffe://corp/agent/a'],
      subjectCn: 'agent-a',
    });
    expect(() => certificateFromXfcc(`Hash=${'ab'.repeat(32)},Hash=${'cd'.repeat(32)}`)).toThrow(/exactly one element/);
    expect(() => certificateFromXfcc('URI=spiffe://corp/agent/a')).toThrow(/no SHA-256 Hash/);
  });
});

describe('resolveClientAddress', () => {
  const trusted = (a: string): boolean => a === '10.0.0.1' || a === '10.0.0.2';

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(resolveClientAddress('203.0.113.9', '1.2.3.4', trusted)).toBe('203.0.113.9');
  });

  it('walks X-Forwarded-For from the right past trusted proxies', () => {
    expect(resolveClientAddress('10.0.0.1', '1.2.3.4, 198.51.100.7, 10.0.0.2', trusted)).toBe('198.51.100.7');
    expect(resolveClientAddress('10.0.0.1', undefined, trusted)).toBe('10.0.0.1');
  });
});
