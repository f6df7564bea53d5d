import { describe, expect, it } from 'vitest';
import { addressMatcher } from '#libs/config';
import { resolveClientAddress } from './client-address.js';

describe('resolveClientAddress (X-Forwarded-For through TRUSTED_PROXIES)', () => {
  // The matcher the gateway builds from TRUSTED_PROXIES.
  const trusted = addressMatcher(['10.0.0.0/8', '2001:db8:ffff::/48']);
  const from = (peer: string | undefined, header: string | string[] | undefined) => resolveClientAddress(peer, header, (a) => trusted(a));

  it('ignores the header from a peer that is not a trusted proxy', () => {
    expect(from('203.0.113.9', '1.2.3.4')).toBe('203.0.113.9');
    expect(from('::ffff:203.0.113.9', '1.2.3.4')).toBe('::ffff:203.0.113.9');
    expect(from(undefined, '1.2.3.4')).toBe('unknown');
  });

  it('believes a trusted proxy, the peer as Node reports it on a dual-stack socket included', () => {
    expect(from('10.0.0.1', '198.51.100.7')).toBe('198.51.100.7');
    expect(from('::ffff:10.0.0.1', '198.51.100.7')).toBe('198.51.100.7');
    expect(from('10.0.0.1', undefined)).toBe('10.0.0.1');
    expect(from('10.0.0.1', '')).toBe('10.0.0.1');
  });

  it('takes the first untrusted hop from the right with several proxies: what the client wrote itself is not believed', () => {
    // client-forged, real client, second proxy; the peer is the first proxy.
    expect(from('10.0.0.1', '1.2.3.4, 198.51.100.7, 10.0.0.2')).toBe('198.51.100.7');
    expect(from('10.0.0.1', ['1.2.3.4', '198.51.100.7', '10.0.0.2'])).toBe('198.51.100.7');
    expect(from('10.0.0.1', '1.2.3.4,198.51.100.7 ,  10.9.9.9')).toBe('198.51.100.7');
    expect(from('10.0.0.1', '2001:db8::7, 2001:db8:ffff::1')).toBe('2001:db8::7');
    // Every hop a proxy: the farthest one is all we know.
    expect(from('10.0.0.1', '10.0.0.3, 10.0.0.2')).toBe('10.0.0.3');
  });

  it('reads hops with a port', () => {
    expect(from('10.0.0.1', '198.51.100.7:51234')).toBe('198.51.100.7');
    expect(from('10.0.0.1', '[2001:db8::7]:443')).toBe('2001:db8::7');
    expect(from('10.0.0.1', '[2001:db8::7]')).toBe('2001:db8::7');
  });

  it('ignores garbage: a hop that is no address stops the walk at the nearest trusted hop', () => {
    expect(from('10.0.0.1', 'garbage')).toBe('10.0.0.1');
    expect(from('10.0.0.1', 'unknown')).toBe('10.0.0.1');
    expect(from('10.0.0.1', "'; DROP TABLE audit_records; --")).toBe('10.0.0.1');
    expect(from('10.0.0.1', 'x'.repeat(8_000))).toBe('10.0.0.1');
    expect(from('10.0.0.1', '198.51.100.7, not-an-ip, 10.0.0.2')).toBe('10.0.0.2');
    expect(from('10.0.0.1', '1.2.3.4.5')).toBe('10.0.0.1');
    expect(from('10.0.0.1', '[1.2.3.4]:80')).toBe('10.0.0.1');
    expect(from('10.0.0.1', '198.51.100.7:99999999')).toBe('10.0.0.1');
    // Empty hops (",,") are skipped, not garbage.
    expect(from('10.0.0.1', '198.51.100.7,, ')).toBe('198.51.100.7');
  });
});
