import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';

/**
 * `ADMIN_TOKEN`, the break-glass admin credential: compared in constant time, and fingerprinted so
 * that a console session opened with it ends when the token is rotated or removed.
 */
@Injectable()
export class BreakGlassCredential {
  private readonly tokenDigest: Buffer | null;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.tokenDigest = config.adminPlane.adminToken ? digest(config.adminPlane.adminToken) : null;
  }

  /** Whether `ADMIN_TOKEN` is set at all. */
  get configured(): boolean {
    return this.tokenDigest !== null;
  }

  /** Whether `token` is `ADMIN_TOKEN`. Digests of equal length: neither the token nor its length leaks. */
  matches(token: string): boolean {
    return this.tokenDigest !== null && timingSafeEqual(digest(token), this.tokenDigest);
  }

  /** What a break-glass console session remembers of the token: a digest of its digest, useless to sign in with. */
  fingerprint(): string | null {
    return this.tokenDigest && createHash('sha256').update(this.tokenDigest).digest('hex');
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
