import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import { NodeStatsRepository } from './node-stats.repository.js';

/** How often a routing node publishes its {@link NodeStats}. */
export const NODE_STATS_INTERVAL_MS = 2000;

/** A counter's or histogram's total at one instant. */
interface Reading {
  at: number;
  routed: number;
  lagSum: number;
  lagCount: number;
}

/**
 * On a node that routes agents (the gateway process, not apps/admin alone): every
 * {@link NODE_STATS_INTERVAL_MS}, the difference of this process's own Prometheus counters since the
 * last tick (messages routed, audit write lag) published for the Overview of every node.
 */
@Injectable()
export class NodeStatsSampler implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('NodeStats');
  private timer: NodeJS.Timeout | null = null;
  private last: Reading | null = null;
  private failing = false;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly metrics: MetricsService,
    private readonly stats: NodeStatsRepository,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.tick(), NODE_STATS_INTERVAL_MS);
    this.timer.unref();
    void this.tick();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Takes a reading and, from the second one on, publishes the rates since the previous. */
  async tick(): Promise<void> {
    const now = await this.read();
    const previous = this.last;
    this.last = now;
    if (!previous) return;
    const seconds = Math.max((now.at - previous.at) / 1000, 0.001);
    const written = now.lagCount - previous.lagCount;
    try {
      await this.stats.publish({
        node_id: this.config.nodeId,
        sampled_at: new Date(now.at).toISOString(),
        messages_per_second: round((now.routed - previous.routed) / seconds),
        audit_lag_s: written > 0 ? round((now.lagSum - previous.lagSum) / written) : null,
      });
      this.failing = false;
    } catch (error) {
      // Redis down: the Overview says so through readiness; one line, not one per tick.
      if (!this.failing) this.logger.warn(`node stats not published: ${(error as Error).message}`);
      this.failing = true;
    }
  }

  private async read(): Promise<Reading> {
    const [routed, lag] = await Promise.all([this.metrics.routed.get(), this.metrics.auditLagSeconds.get()]);
    const total = (name: string) => lag.values.filter((v) => v.metricName === name).reduce((sum, v) => sum + v.value, 0);
    return {
      at: Date.now(),
      routed: routed.values.reduce((sum, v) => sum + v.value, 0),
      lagSum: total('agw_audit_lag_seconds_sum'),
      lagCount: total('agw_audit_lag_seconds_count'),
    };
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
