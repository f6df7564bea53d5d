import { isIP } from 'node:net';
import { parseCidr } from './cidr.js';

/**
 * One entry of `A2A_EGRESS_ALLOW`: a host name (`agents.example.com`, or `*.example.com` for its
 * subdomains), optionally with a port, an IP address with a port (`127.0.0.1:9000`, `[::1]:9000`),
 * or an address range (`10.1.0.0/16`; a bare address is its own /32 or /128).
 */
export type EgressAllowEntry =
  | { kind: 'host'; host: string; wildcard: boolean; port: number | null }
  | { kind: 'ip'; address: string; port: number }
  | { kind: 'cidr'; cidr: string };

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_NAME = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*$`);

/** Parses one `A2A_EGRESS_ALLOW` entry; null when it is none of the accepted forms. */
export function parseEgressEntry(raw: string): EgressAllowEntry | null {
  const value = raw.trim().toLowerCase();
  if (value.includes('/') || isIP(value) !== 0) return parseCidr(value) ? { kind: 'cidr', cidr: value } : null;
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(value);
  if (bracketed) {
    const [, address = '', portText] = bracketed;
    if (isIP(address) !== 6) return null;
    if (portText === undefined) return { kind: 'cidr', cidr: address };
    const port = portOf(portText);
    return port === null ? null : { kind: 'ip', address, port };
  }
  const [host = '', portText, extra] = value.split(':');
  if (extra !== undefined) return null;
  const port = portText === undefined ? null : portOf(portText);
  if (portText !== undefined && port === null) return null;
  if (isIP(host) === 4) return port === null ? { kind: 'cidr', cidr: host } : { kind: 'ip', address: host, port };
  const name = host.replace(/\.$/, '');
  if (!HOST_NAME.test(name) || name.length > 253) return null;
  const wildcard = name.startsWith('*.');
  return { kind: 'host', host: wildcard ? name.slice(2) : name, wildcard, port };
}

function portOf(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : null;
}
