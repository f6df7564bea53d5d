import { describe, expect, it } from 'vitest';
import { addressMatcher, parseCidr } from './cidr.js';

describe('addressMatcher', () => {
  it('matches addresses and ranges of both families, and IPv4-mapped IPv6 peers', () => {
    const trusted = addressMatcher(['10.0.0.0/8', '::1', '192.168.1.7']);
    expect(trusted('10.200.3.4')).toBe(true);
    expect(trusted('::ffff:10.1.2.3')).toBe(true);
    expect(trusted('::1')).toBe(true);
    expect(trusted('192.168.1.7')).toBe(true);
    expect(trusted('192.168.1.8')).toBe(false);
    expect(trusted('11.0.0.1')).toBe(false);
    expect(trusted(undefined)).toBe(false);
  });

  it('parses only valid ranges', () => {
    expect(parseCidr('10.0.0.0/33')).toBeNull();
    expect(parseCidr('not-an-ip')).toBeNull();
    expect(parseCidr('fd00::/8')).toEqual({ address: 'fd00::', prefix: 8, family: 'ipv6' });
  });
});
