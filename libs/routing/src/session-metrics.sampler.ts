import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { MetricsService } from '#libs/observability';
import { SessionRegistry } from './session.registry.js';

/**
 * `agw_tenant_sessions`, counted from this node's sessions when `/metrics` is scraped (rather than
 * kept in step on every connect and disconnect), under the metric's bounded tenant labels.
 */
@Injectable()
export class SessionMetricsSampler implements OnModuleInit, OnModuleDestroy {
  private unregister: (() => void) | null = null;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.unregister = this.metrics.sampleOnScrape(() => Promise.resolve(this.sample()));
  }

  onModuleDestroy(): void {
    this.unregister?.();
  }

  private sample(): void {
    const counts = new Map<string, number>();
    for (const session of this.registry.all()) {
      if (session.closed) continue;
      const label = this.metrics.tenantLabel(session.tenantId);
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    this.metrics.tenantSessions.reset();
    for (const [tenant, count] of counts) this.metrics.tenantSessions.labels(tenant).set(count);
  }
}
