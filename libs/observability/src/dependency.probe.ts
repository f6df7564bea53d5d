import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PrismaService } from '#libs/persistence';
import { RedisService } from '#libs/redis';
import { MetricsService } from './metrics.service.js';

/**
 * `agw_dependency_up{dependency="postgres"|"redis"}`: the pings of `/readyz`, taken when `/metrics`
 * is scraped, so an alert can name the dependency that is down (each ping bounded by the scrape's
 * sampler time-out: no answer within a second counts as down).
 */
@Injectable()
export class DependencyProbe implements OnModuleInit, OnModuleDestroy {
  private unregister: (() => void) | null = null;

  constructor(
    private readonly metrics: MetricsService,
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
  ) {}

  onModuleInit(): void {
    this.unregister = this.metrics.sampleOnScrape(() => this.sample());
  }

  onModuleDestroy(): void {
    this.unregister?.();
  }

  private async sample(): Promise<void> {
    const up = this.metrics.dependencyUp;
    // Down until the ping answers: a ping still pending when the scrape gives up reads as down.
    up.labels('postgres').set(0);
    up.labels('redis').set(0);
    await Promise.all([
      this.prisma.isReachable().then((ok) => up.labels('postgres').set(ok ? 1 : 0)),
      this.redis.isReachable().then((ok) => up.labels('redis').set(ok ? 1 : 0)),
    ]);
  }
}
