import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService, ReadinessState } from '#libs/observability';
import { RedisPersistenceRepository, type RedisPersistence } from '#libs/redis';
import { persistenceWarning } from './audit-queue-durability.js';

/**
 * How often Redis's persistence settings are read again while running: a `CONFIG SET appendonly
 * no`, or a failover to a replica configured differently, shows within a minute. One round trip.
 */
export const PERSISTENCE_CHECK_INTERVAL_MS = 60_000;

/**
 * Watches whether the Redis holding the audit queue would keep it across a restart: reads its
 * persistence settings at start and every {@link PERSISTENCE_CHECK_INTERVAL_MS}, reports the mode
 * in `/readyz` (`checks.redis_persistence`) and `agw_redis_durable{mode}`, and logs at start and
 * whenever the mode changes (a loud warning when it is not durable or cannot be read; never again
 * while it stays so). While Redis does not answer, the last reading stands. One per process.
 */
@Injectable()
export class RedisPersistenceWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('AuditQueue');
  private timer: NodeJS.Timeout | null = null;
  private last: RedisPersistence | null = null;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly persistence: RedisPersistenceRepository,
    private readonly metrics: MetricsService,
    private readonly readiness: ReadinessState,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), PERSISTENCE_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Reads the settings now and reports them; null when Redis did not answer (the last reading stands). */
  async check(): Promise<RedisPersistence | null> {
    let now: RedisPersistence;
    try {
      now = await this.persistence.read();
    } catch {
      return null; // Redis unreachable: RedisService logs that, and the queue is not being written meanwhile
    }
    const before = this.last;
    this.last = now;
    this.readiness.redisPersistence = now.mode;
    this.metrics.redisDurable.reset();
    this.metrics.redisDurable.labels(now.mode).set(now.durable ? 1 : 0);
    if (before?.mode !== now.mode) this.report(before, now);
    return now;
  }

  private report(before: RedisPersistence | null, now: RedisPersistence): void {
    const changed = before ? `Redis persistence changed at run time from ${before.mode} to ${now.mode}: ` : '';
    if (now.durable) {
      this.logger.log(`${changed}Redis persistence ${now.mode} (${now.settings}): queued audit records survive a Redis restart`);
    } else {
      this.logger.warn(`${changed}${persistenceWarning(now, this.config)}`);
    }
  }
}
