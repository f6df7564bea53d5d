import { describe, expect, it } from 'vitest';
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
