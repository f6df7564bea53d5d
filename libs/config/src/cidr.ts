import { BlockList, isIP } from 'node:net';

/** An IP address or CIDR range, parsed. */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.0/8`, `::1` or `192.168.1.7`; null when it is neither. */
export function parseCidr(value: string): Cidr | null {
  const [address = '', prefixText] = value.split('/');
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * A matcher for a list of addresses and ranges. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`,
 * as Node reports IPv4 peers on dual-stack sockets) match their IPv4 ranges.
 *
 * @example
 * const trusted = addressMatcher(['10.0.0.0/8', '::1']);
 * trusted('::ffff:10.1.2.3'); // true
 */
export function addressMatcher(list: string[]): (address: string | undefined) => boolean {
  const blocks = new BlockList();
  for (const entry of list) {
    const cidr = parseCidr(entry);
    if (cidr) blocks.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return (address) => {
    if (!address) return false;
    const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(plain) === 4 ? 'ipv4' : isIP(plain) === 6 ? 'ipv6' : null;
    return family !== null && blocks.check(plain, family);
  };
}
