import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import { Inject, Injectable } from '@nestjs/common';
import {
  certificateFromTls,
  certificateFromXfcc,
  resolveClientAddress,
  type CredentialTransport,
  type PresentedCredentials,
} from '#libs/auth';
import { GATEWAY_CONFIG, addressMatcher, type GatewayConfig } from '#libs/config';

/** The token of an `Authorization: Bearer …` header, if there is one. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Gathers what a client presents, the same way for every transport: the bearer token (found by
 * the transport), the client certificate from the TLS handshake or, only when the peer is one of
 * `TRUSTED_PROXIES`, from `X-Forwarded-Client-Cert`, and the client's address (through
 * `X-Forwarded-For` from trusted proxies). Query-string tokens are never read here.
 */
@Injectable()
export class CredentialExtractor {
  private readonly trusted: (address: string | undefined) => boolean;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.trusted = addressMatcher(config.auth.trustedProxies);
  }

  fromRequest(
    request: IncomingMessage,
    transport: CredentialTransport,
    token: string | undefined,
    claimedAgentId: string | undefined,
  ): PresentedCredentials {
    const peer = request.socket.remoteAddress;
    const fromProxy = this.trusted(peer);
    const tls = request.socket instanceof TLSSocket ? certificateFromTls(request.socket) : undefined;
    const forwarded = request.headers['x-forwarded-client-cert'];
    const certificate = tls ?? (fromProxy && typeof forwarded === 'string' ? certificateFromXfcc(forwarded) : undefined);
    return {
      ...(token !== undefined && { token }),
      ...(claimedAgentId !== undefined && { claimedAgentId }),
      ...(certificate !== undefined && { certificate }),
      remoteAddress: resolveClientAddress(peer, request.headers['x-forwarded-for'], (a) => this.trusted(a)),
      transport,
    };
  }
}
