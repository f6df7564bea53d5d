import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DependencyHealthRepository } from './dependency-health.repository.js';
import { MetricsService } from './metrics.service.js';

/**
 * `agw_dependency_up{dependency="postgres"|"redis"}`: the pings of `/readyz`, taken when `/metrics`
 * is scraped, so an alert can name the dependency that is down (bounded by the scrape's sampler
 * time-out: no answer within a second reads as down).
 */
@Injectable()
export class DependencyProbe implements OnModuleInit, OnModuleDestroy {
  private unregister: (() => void) | null = null;

  constructor(
    private readonly metrics: MetricsService,
    private readonly dependencies: DependencyHealthRepository,
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
    const { postgres, redis } = await this.dependencies.check();
    up.labels('postgres').set(postgres ? 1 : 0);
    up.labels('redis').set(redis ? 1 : 0);
  }
}
