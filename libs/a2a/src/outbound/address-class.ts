import { BlockList, isIP } from 'node:net';

/**
 * What kind of address an IP is, as far as egress is concerned. Anything but `public` is refused
 * unless an IP or CIDR entry of `A2A_EGRESS_ALLOW` covers it.
 */
export type AddressClass = 'public' | 'metadata' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'reserved';

// Cloud instance-metadata endpoints: AWS/GCP/Azure/OpenStack (169.254.169.254), AWS ECS task
// metadata (169.254.170.2), AWS over IPv6 (fd00:ec2::254), Alibaba (100.100.100.200), Oracle (192.0.0.192).
const METADATA = ['169.254.169.254', '169.254.170.2', '100.100.100.200', '192.0.0.192', 'fd00:ec2::254'];

const RANGES: [Exclude<AddressClass, 'public' | 'metadata'>, string, number, 'ipv4' | 'ipv6'][] = [
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  // Carrier-grade NAT (RFC 6598): not routable on the internet, often a provider's internal network.
  ['private', '100.64.0.0', 10, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['reserved', '192.0.0.0', 24, 'ipv4'],
  ['reserved', '192.0.2.0', 24, 'ipv4'],
  ['reserved', '198.18.0.0', 15, 'ipv4'],
  ['reserved', '198.51.100.0', 24, 'ipv4'],
  ['reserved', '203.0.113.0', 24, 'ipv4'],
  ['multicast', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  // Site-local (deprecated, still routed inside some networks) and unique local addresses.
  ['private', 'fec0::', 10, 'ipv6'],
  ['private', 'fc00::', 7, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
  ['reserved', '2001:db8::', 32, 'ipv6'],
  ['reserved', '100::', 64, 'ipv6'],
];

const metadata = new BlockList();
for (const address of METADATA) metadata.addAddress(address, isIP(address) === 4 ? 'ipv4' : 'ipv6');
const ranges = RANGES.map(([kind, address, prefix, family]) => {
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { kind, list, family };
});

/**
 * The IPv4 address an IPv6 address stands for, when it embeds one: IPv4-mapped (`::ffff:a.b.c.d`),
 * IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002:AABB:CCDD::/48`). A remote
 * reached through one of them is the IPv4 host, and is judged as that host.
 */
export function embeddedIpv4(address: string): string | null {
  if (isIP(address) !== 6) return null;
  const words = ipv6Words(address);
  if (!words) return null;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zeros = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  if (zeros(0, 5) && words[5] === 0xffff) return v4(words[6]!, words[7]!);
  // `::a.b.c.d` but not `::` and `::1` (their own classes).
  if (zeros(0, 6) && (words[6] !== 0 || words[7]! > 1)) return v4(words[6]!, words[7]!);
  if (words[0] === 0x64 && words[1] === 0xff9b && zeros(2, 6)) return v4(words[6]!, words[7]!);
  if (words[0] === 0x2002) return v4(words[1]!, words[2]!);
  return null;
}

/** The class of an IP address (IPv6 forms embedding an IPv4 address are judged by it). */
export function addressClass(address: string): AddressClass {
  const plain = embeddedIpv4(address) ?? address;
  const family = isIP(plain) === 4 ? 'ipv4' : 'ipv6';
  if (metadata.check(plain, family)) return 'metadata';
  for (const range of ranges) if (range.family === family && range.list.check(plain, family)) return range.kind;
  return 'public';
}

/** The eight 16-bit words of an IPv6 address (with `::` and a dotted IPv4 tail expanded). */
function ipv6Words(address: string): number[] | null {
  let text = address.toLowerCase().split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const octets = dotted[1]!.split('.').map(Number);
    text = `${text.slice(0, -dotted[1]!.length)}${((octets[0]! << 8) | octets[1]!).toString(16)}:${((octets[2]! << 8) | octets[3]!).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? left.length !== 8 : missing < 0) return null;
  const words = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right].map((w) => parseInt(w, 16));
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : null;
}
