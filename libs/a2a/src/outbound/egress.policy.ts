import { isIP } from 'node:net';
import { addressMatcher, type EgressAllowEntry } from '#libs/config';
import { GatewayError } from '#libs/protocol';
import { addressClass, embeddedIpv4 } from './address-class.js';

/** Where one outbound request goes: the URL's host (lower case, no brackets) and port. */
export interface EgressTarget {
  host: string;
  port: number;
  /** The host when it is an IP literal (then no name is resolved). */
  ip: string | null;
}

/**
 * The egress rules of `A2A_EGRESS_ALLOW` (closed when empty), applied before every outbound
 * request and again to every address the host resolves to:
 *
 * - the URL is `http:` or `https:` without user info;
 * - each address is allowed when an IP (`IP:port`) or CIDR entry covers it; otherwise a loopback,
 *   link-local, private, unspecified, multicast, reserved or metadata address is refused, even for
 *   a host listed by name (a listed name resolving to 169.254.169.254 is DNS rebinding, not intent);
 * - a public address is allowed when its host is listed by name (`host`, `*.parent`, with the
 *   port when the entry has one).
 *
 * Refusals are `FORBIDDEN` with reason `egress_refused` and a message naming `A2A_EGRESS_ALLOW`.
 *
 * @example
 * const egress = new EgressPolicy(config.a2aOutbound.egressAllow);
 * const target = egress.checkUrl(new URL('https://agents.example.com/a2a'));
 * egress.checkAddress(target, '93.184.216.34');
 */
export class EgressPolicy {
  private readonly names: Extract<EgressAllowEntry, { kind: 'host' }>[];
  private readonly ipPorts: Extract<EgressAllowEntry, { kind: 'ip' }>[];
  private readonly inRanges: (address: string) => boolean;
  private readonly hasRanges: boolean;

  constructor(entries: readonly EgressAllowEntry[]) {
    this.names = entries.filter((e) => e.kind === 'host');
    this.ipPorts = entries.filter((e) => e.kind === 'ip');
    const cidrs = entries.filter((e) => e.kind === 'cidr').map((e) => e.cidr);
    this.hasRanges = cidrs.length > 0;
    this.inRanges = addressMatcher(cidrs);
  }

  /** Checks what can be checked before resolving: scheme, user info, and whether the host can be allowed at all. */
  checkUrl(url: URL): EgressTarget {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refused(`only http and https URLs are called, not ${url.protocol}`);
    if (url.username || url.password) throw refused('a URL with user info (user:password@) is refused; give a2a_credential instead');
    const host = url.hostname
      .replace(/^\[|\]$/g, '')
      .replace(/\.$/, '')
      .toLowerCase();
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    const ip = isIP(host) !== 0 ? host : null;
    const target = { host, port, ip };
    if (ip) this.checkAddress(target, ip);
    else if (!this.nameListed(target) && !this.hasRanges) throw notListed(target);
    return target;
  }

  /** Checks one address `target`'s host resolved to (or its IP literal). */
  checkAddress(target: EgressTarget, address: string): void {
    const plain = embeddedIpv4(address) ?? address;
    if (this.inRanges(plain) || this.ipPorts.some((e) => e.port === target.port && sameAddress(e.address, plain))) return;
    const kind = addressClass(plain);
    if (kind !== 'public') {
      const via = target.ip ? '' : `${target.host} resolves to `;
      throw refused(`${via}${address}, a ${kind} address, which is refused unless an IP or CIDR entry of A2A_EGRESS_ALLOW covers it`);
    }
    if (!target.ip && this.nameListed(target)) return;
    throw notListed(target);
  }

  private nameListed(target: EgressTarget): boolean {
    return this.names.some(
      (e) => (e.port === null || e.port === target.port) && (e.wildcard ? target.host.endsWith(`.${e.host}`) : target.host === e.host),
    );
  }
}

function sameAddress(a: string, b: string): boolean {
  return (embeddedIpv4(a) ?? a).toLowerCase() === b.toLowerCase();
}

function notListed(target: EgressTarget): GatewayError {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return refused(`${host}:${target.port} is not in A2A_EGRESS_ALLOW (egress is closed unless listed)`);
}

/** An egress refusal: `FORBIDDEN`, reason `egress_refused`. */
export function refused(message: string): GatewayError {
  return new GatewayError('FORBIDDEN', `egress refused: ${message}`, { reason: 'egress_refused' });
}
