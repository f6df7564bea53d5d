import { Inject, Injectable, Logger } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { GatewayError } from '#libs/protocol';
import { AuthFailureRepository } from './auth-failure.repository.js';

/**
 * Brute-force protection: after `AUTH_FAILURE_LIMIT` failed authentications from one address in
 * `AUTH_FAILURE_WINDOW_S`, further attempts from it are refused with `RATE_LIMIT` until the window
 * ends, before any credential is looked at. Shared by every node through Redis. When Redis is
 * down the throttle steps aside (logged): the credential check itself still decides.
 */
@Injectable()
export class AuthThrottle {
  private readonly logger = new Logger('AuthThrottle');
  private failing = false;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly failures: AuthFailureRepository,
  ) {}

  /** Throws `RATE_LIMIT` when `address` is over its limit. */
  async check(address: string): Promise<void> {
    let resetMs: number;
    try {
      if ((await this.failures.count(address)) < this.config.auth.failureLimit) {
        this.recovered();
        return;
      }
      resetMs = await this.failures.remainingMs(address);
      this.recovered();
    } catch (error) {
      this.degraded(error);
      return;
    }
    throw new GatewayError('RATE_LIMIT', 'too many failed authentications from this address; retry later', {
      retryAfterMs: Math.max(resetMs, 1),
    });
  }

  /** Counts a failed authentication from `address`. */
  async fail(address: string): Promise<void> {
    try {
      await this.failures.record(address, this.config.auth.failureWindowS * 1000);
      this.recovered();
    } catch (error) {
      this.degraded(error);
    }
  }

  private degraded(error: unknown): void {
    if (!this.failing) this.logger.warn(`brute-force throttle unavailable (Redis): ${(error as Error).message}`);
    this.failing = true;
  }

  private recovered(): void {
    if (this.failing) this.logger.log('brute-force throttle restored');
    this.failing = false;
  }
}
