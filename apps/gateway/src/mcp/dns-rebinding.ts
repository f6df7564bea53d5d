import { GatewayError } from '#libs/protocol';

/** What `/mcp` accepts in `Host` and `Origin` (`MCP_ALLOWED_HOSTS`, `MCP_ALLOWED_ORIGINS`). */
export interface RebindingSettings {
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
}

/**
 * The DNS-rebinding check of `/mcp`, with the SDK's semantics (its `hostHeaderValidation`: the
 * `Host` header's host name, port ignored, must be listed when a list is set; its transport's
 * `allowedOrigins`: a request carrying an `Origin` must name a listed one), run before
 * authentication so that a rebound request never reaches a verifier. One difference, on purpose:
 * with no origins listed, every request carrying an `Origin` is refused, since MCP clients outside
 * a browser send none and the MCP specification requires servers to validate it. Returns the
 * refusal (`FORBIDDEN`), or null.
 */
export function rebindingRefusal(host: string | undefined, origin: string | undefined, settings: RebindingSettings): GatewayError | null {
  if (settings.allowedHosts.length > 0) {
    const name = hostNameOf(host);
    if (name === null || !settings.allowedHosts.includes(name))
      return new GatewayError('FORBIDDEN', 'the Host header names a host this gateway does not serve MCP on (MCP_ALLOWED_HOSTS)', {
        reason: 'host_not_allowed',
      });
  }
  if (origin !== undefined && !settings.allowedOrigins.includes(origin))
    return new GatewayError('FORBIDDEN', 'requests from this Origin are not accepted on /mcp (MCP_ALLOWED_ORIGINS)', {
      reason: 'origin_not_allowed',
    });
  return null;
}

/** A `Host` header: a DNS name, an IPv4 address or a bracketed IPv6 address, and an optional port. */
const HOST_HEADER = /^([a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/** The host name of a `Host` header, lower-cased, without its port (`[::1]` keeps its brackets); null when unusable. */
export function hostNameOf(host: string | undefined): string | null {
  const match = host === undefined ? null : HOST_HEADER.exec(host);
  return match?.[1]?.toLowerCase() ?? null;
}

/** True when a `Host` header is safe to quote in a URL (the resource of the RFC 9728 metadata). */
export function isUsableHost(host: string | undefined): host is string {
  return host !== undefined && HOST_HEADER.test(host);
}
