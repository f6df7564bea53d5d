import { isIP } from 'node:net';

/**
 * The address a request really comes from. When the peer is a trusted proxy, `X-Forwarded-For`
 * is walked from the right past further trusted proxies; the first untrusted hop is the client.
 * From an untrusted peer the header is ignored: anyone can write it. A hop that is not an IP
 * address (garbage, a name, `unknown`) ends the walk: the address is then the nearest trusted hop
 * that passed it on, never the garbage (which would otherwise become a rate-limit key and an audit
 * field of the sender's choosing). `1.2.3.4:port` and `[v6]:port` hops are read without the port.
 *
 * @example
 * const trusted = (a: string) => a === '10.0.0.1';
 * resolveClientAddress('10.0.0.1', '203.0.113.7, 10.0.0.1', trusted); // '203.0.113.7'
 * resolveClientAddress('198.51.100.2', '203.0.113.7', trusted); // '198.51.100.2' (untrusted peer)
 */
export function resolveClientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  isTrusted: (address: string) => boolean,
): string {
  const direct = peer ?? 'unknown';
  if (!peer || !isTrusted(peer) || forwardedFor === undefined) return direct;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  let nearest = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const raw = hops[i]!.trim();
    if (raw === '') continue;
    const hop = ipOf(raw);
    if (hop === null) return nearest;
    if (!isTrusted(hop)) return hop;
    nearest = hop;
  }
  return nearest;
}

/** The IP address of one `X-Forwarded-For` hop (without a port), or null when it is none. */
function ipOf(hop: string): string | null {
  if (isIP(hop) !== 0) return hop;
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(hop);
  if (bracketed?.[1] !== undefined) return isIP(bracketed[1]) === 6 ? bracketed[1] : null;
  const withPort = /^([\d.]+):\d{1,5}$/.exec(hop);
  if (withPort?.[1] !== undefined) return isIP(withPort[1]) === 4 ? withPort[1] : null;
  return null;
}
