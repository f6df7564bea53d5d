import type { Request } from 'express';
import type { PresentedCredentials } from '#libs/auth';

/** The token of an `Authorization: Bearer …` header, if there is one. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * What an HTTP caller presents: the bearer token, and for `none` (no token) the claimed agent in
 * `X-Agent-Id`.
 */
export function httpCredentials(request: Request, claimedAgentId?: string): PresentedCredentials {
  const token = bearerToken(request.headers.authorization);
  const header = request.headers['x-agent-id'];
  const claimed = claimedAgentId ?? (typeof header === 'string' ? header : undefined);
  return {
    ...(token !== undefined && { token }),
    ...(claimed !== undefined && { claimedAgentId: claimed }),
    remoteAddress: request.socket.remoteAddress ?? 'unknown',
    transport: 'http',
  };
}
