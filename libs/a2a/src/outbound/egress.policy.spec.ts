import { describe, expect, it } from 'vitest';
import { parseEgressEntry, type EgressAllowEntry } from '#libs/config';
import { GatewayError } from '#libs/protocol';
import { addressClass, embeddedIpv4 } from './address-class.js';
import { EgressPolicy } from './egress.policy.js';

function policy(...entries: string[]): EgressPolicy {
  return new EgressPolicy(entries.map((e) => parseEgressEntry(e)).filter((e): e is EgressAllowEntry => e !== null));
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayError && error.code === 'FORBIDDEN' && error.reason === 'egress_refused') return error.message;
    throw error;
  }
  throw new Error('expected an egress refusal');
}

/** Whether `url`, its host resolving to `address` (or being it), is allowed. */
function allows(egress: EgressPolicy, url: string, address?: string): boolean {
  try {
    const target = egress.checkUrl(new URL(url));
    egress.checkAddress(target, address ?? target.ip ?? '');
    return true;
  } catch (error) {
    if (error instanceof GatewayError && error.reason === 'egress_refused') return false;
    throw error;
  }
}

describe('address classes', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['2606:4700::1111', 'public'],
  ])('%s is %s', (address, kind) => {
    expect(addressClass(address)).toBe(kind);
  });

  it('judges IPv6 forms embedding an IPv4 address (mapped, compatible, NAT64, 6to4) by that address', () => {
    expect(embeddedIpv4('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(embeddedIpv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIpv4('::ffff:a9fe:a9fe')).toBe('169.254.169.254');
    expect(embeddedIpv4('64:ff9b::a9fe:a9fe')).toBe('169.254.169.254');
    expect(embeddedIpv4('2002:0a00:0001::1')).toBe('10.0.0.1');
    expect(embeddedIpv4('2606:4700::1111')).toBeNull();
    expect(embeddedIpv4('::1')).toBeNull();
    expect(addressClass('::ffff:169.254.169.254')).toBe('metadata');
    expect(addressClass('::ffff:10.0.0.1')).toBe('private');
    expect(addressClass('::ffff:7f00:1')).toBe('loopback');
    expect(addressClass('64:ff9b::a00:1')).toBe('private');
    expect(addressClass('::ffff:8.8.8.8')).toBe('public');
  });
});

describe('A2A_EGRESS_ALLOW entries', () => {
  it('parses host names, wildcards, host:port, IP:port, [IPv6]:port and CIDRs, and refuses anything else', () => {
    expect(parseEgressEntry('Agents.Example.com')).toEqual({ kind: 'host', host: 'agents.example.com', wildcard: false, port: null });
    expect(parseEgressEntry('*.example.com:8443')).toEqual({ kind: 'host', host: 'example.com', wildcard: true, port: 8443 });
    expect(parseEgressEntry('127.0.0.1:9000')).toEqual({ kind: 'ip', address: '127.0.0.1', port: 9000 });
    expect(parseEgressEntry('[::1]:9000')).toEqual({ kind: 'ip', address: '::1', port: 9000 });
    expect(parseEgressEntry('10.0.0.0/8')).toEqual({ kind: 'cidr', cidr: '10.0.0.0/8' });
    expect(parseEgressEntry('192.168.1.7')).toEqual({ kind: 'cidr', cidr: '192.168.1.7' });
    expect(parseEgressEntry('fd00::/8')).toEqual({ kind: 'cidr', cidr: 'fd00::/8' });
    for (const bad of ['10.0.0.0/33', 'host:0', 'host:70000', 'a..b', '*.', 'http://x', 'x y', '-bad.com', 'host:1:2']) {
      expect(parseEgressEntry(bad), bad).toBeNull();
    }
  });
});

describe('EgressPolicy', () => {
  it('is closed when A2A_EGRESS_ALLOW is empty, naming the variable', () => {
    const closed = policy();
    expect(refusal(() => closed.checkUrl(new URL('https://agents.example.com')))).toContain('A2A_EGRESS_ALLOW');
    expect(allows(closed, 'http://8.8.8.8/')).toBe(false);
  });

  it('allows a listed host name on its public addresses, with the port when the entry has one', () => {
    const egress = policy('agents.example.com', '*.corp.example:8443');
    expect(allows(egress, 'https://agents.example.com/a2a', '93.184.216.34')).toBe(true);
    expect(allows(egress, 'http://agents.example.com:8080/', '93.184.216.34')).toBe(true);
    expect(allows(egress, 'https://x.corp.example:8443/', '93.184.216.34')).toBe(true);
    expect(allows(egress, 'https://x.corp.example/', '93.184.216.34')).toBe(false);
    expect(allows(egress, 'https://corp.example:8443/', '93.184.216.34')).toBe(false);
    expect(allows(egress, 'https://evil-agents.example.com/', '93.184.216.34')).toBe(false);
    expect(allows(egress, 'https://agents.example.com./', '93.184.216.34')).toBe(true);
    expect(allows(egress, 'https://AGENTS.example.com/', '93.184.216.34')).toBe(true);
  });

  it('refuses a listed host name that resolves to a loopback, private, link-local or metadata address (DNS rebinding)', () => {
    const egress = policy('agents.example.com');
    for (const address of ['127.0.0.1', '10.0.0.5', '169.254.169.254', '::ffff:169.254.169.254', 'fe80::1', 'fd00:ec2::254', '0.0.0.0']) {
      expect(allows(egress, 'https://agents.example.com/', address), address).toBe(false);
    }
    const target = egress.checkUrl(new URL('https://agents.example.com/'));
    expect(refusal(() => egress.checkAddress(target, '169.254.169.254'))).toMatch(
      /resolves to 169\.254\.169\.254, a metadata address.*A2A_EGRESS_ALLOW/,
    );
  });

  it('refuses special address literals unless an IP or CIDR entry covers them', () => {
    const egress = policy('agents.example.com');
    expect(refusal(() => egress.checkUrl(new URL('http://169.254.169.254/latest/meta-data')))).toContain('metadata address');
    expect(refusal(() => egress.checkUrl(new URL('http://[::ffff:127.0.0.1]:80/')))).toContain('loopback address');
    expect(refusal(() => egress.checkUrl(new URL('http://[fe80::1]/')))).toContain('link-local');
    expect(allows(egress, 'http://8.8.8.8/')).toBe(false);
  });

  it('opens a CIDR for any host resolving into it, and IP:port for that port only', () => {
    const egress = policy('10.1.0.0/16', '127.0.0.1:9000', 'fd00:1::/32');
    expect(allows(egress, 'http://10.1.2.3:8080/')).toBe(true);
    expect(allows(egress, 'http://internal.corp/', '10.1.200.1')).toBe(true);
    expect(allows(egress, 'http://internal.corp/', '::ffff:10.1.200.1')).toBe(true);
    expect(allows(egress, 'http://internal.corp/', '10.2.0.1')).toBe(false);
    expect(allows(egress, 'http://internal.corp/', '8.8.8.8')).toBe(false);
    expect(allows(egress, 'http://127.0.0.1:9000/')).toBe(true);
    expect(allows(egress, 'http://127.0.0.1:9001/')).toBe(false);
    expect(allows(egress, 'http://[::ffff:127.0.0.1]:9000/')).toBe(true);
    expect(allows(egress, 'http://[fd00:1::5]/')).toBe(true);
    expect(allows(egress, 'http://[fd00:2::5]/')).toBe(false);
  });

  it('refuses other schemes and user info before anything else', () => {
    const egress = policy('0.0.0.0/0');
    expect(refusal(() => egress.checkUrl(new URL('ftp://8.8.8.8/')))).toContain('http and https');
    expect(refusal(() => egress.checkUrl(new URL('http://user:pw@8.8.8.8/')))).toContain('user info');
    expect(refusal(() => egress.checkUrl(new URL('file:///etc/passwd')))).toContain('http and https');
  });
});
