import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-custom';
import { AuthThrottle, resolveClientAddress } from '#libs/auth';
import { GATEWAY_CONFIG, addressMatcher, type GatewayConfig } from '#libs/config';
import { GatewayError } from '#libs/protocol';
import type { AdminPrincipal } from './admin-principal.js';

/**
 * The admin API's bearer authentication. Today: `ADMIN_TOKEN`, the break-glass credential, with the
 * role `admin`. SSO access tokens (issue 6) are another branch of the same strategy, returning the
 * same {@link AdminPrincipal}. Failures count towards the per-address brute-force limit.
 */
@Injectable()
export class AdminTokenStrategy extends PassportStrategy(Strategy, 'admin-bearer') {
  private readonly adminTokenDigest: Buffer | null;
  private readonly trusted: (address: string | undefined) => boolean;

  constructor(
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    private readonly throttle: AuthThrottle,
  ) {
    super();
    this.adminTokenDigest = config.adminPlane.adminToken ? digest(config.adminPlane.adminToken) : null;
    this.trusted = addressMatcher(config.auth.trustedProxies);
  }

  async validate(request: Request): Promise<AdminPrincipal> {
    const address = `admin:${resolveClientAddress(request.socket.remoteAddress, request.headers['x-forwarded-for'], (a) => this.trusted(a))}`;
    await this.throttle.check(address);
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (token === undefined) throw new GatewayError('UNAUTHORIZED', 'admin API needs Authorization: Bearer <token>');
    // Digests of equal length, compared in constant time: neither the token nor its length leaks.
    if (this.adminTokenDigest && timingSafeEqual(digest(token), this.adminTokenDigest)) {
      return { kind: 'break_glass', subject: 'break-glass', roles: ['admin'], tenantId: null };
    }
    await this.throttle.fail(address);
    throw new GatewayError(
      'UNAUTHORIZED',
      this.adminTokenDigest ? 'invalid admin credential' : 'the admin API has no credential configured (set ADMIN_TOKEN)',
    );
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
