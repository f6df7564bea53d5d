/**
 * The address a request really comes from. When the peer is a trusted proxy, `X-Forwarded-For`
 * is walked from the right past further trusted proxies; the first untrusted hop is the client.
 * From an untrusted peer the header is ignored: anyone can write it.
 */
export function resolveClientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  isTrusted: (address: string) => boolean,
): string {
  const direct = peer ?? 'unknown';
  if (!peer || !isTrusted(peer) || forwardedFor === undefined) return direct;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  for (const hop of [...hops].reverse()) {
    if (!isTrusted(hop)) return hop;
  }
  return hops[0] ?? direct;
}
