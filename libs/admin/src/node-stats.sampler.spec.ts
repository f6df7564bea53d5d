import { describe, expect, it } from 'vitest';
import type { GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import type { NodeStats, NodeStatsRepository } from './node-stats.repository.js';
import { NodeStatsSampler } from './node-stats.sampler.js';

// The sampler on a real MetricsService (prom-client); only the Redis repository is a list here.
function sampler(): { sampler: NodeStatsSampler; metrics: MetricsService; published: NodeStats[] } {
  const metrics = new MetricsService();
  const published: NodeStats[] = [];
  const repository = { publish: (stats: NodeStats) => Promise.resolve(void published.push(stats)) } as unknown as NodeStatsRepository;
  return { sampler: new NodeStatsSampler({ nodeId: 'node-a' } as GatewayConfig, metrics, repository), metrics, published };
}

describe('NodeStatsSampler', () => {
  it('publishes the routed messages per second and the mean audit lag since its previous reading', async () => {
    const { sampler: s, metrics, published } = sampler();
    await s.tick();
    expect(published).toEqual([]);
    metrics.routed.labels('message').inc(30);
    metrics.routed.labels('result').inc(10);
    metrics.auditLagSeconds.observe(0.1);
    metrics.auditLagSeconds.observe(0.3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await s.tick();
    expect(published).toHaveLength(1);
    const [stats] = published;
    expect(stats).toMatchObject({ node_id: 'node-a', audit_lag_s: 0.2 });
    // 40 routed over the time between the two readings (at least the 50 ms waited).
    expect(stats?.messages_per_second).toBeGreaterThan(0);
    expect(stats?.messages_per_second).toBeLessThanOrEqual(40 / 0.05);
  });

  it('reports no audit lag for an interval in which this node wrote no audit record', async () => {
    const { sampler: s, published } = sampler();
    await s.tick();
    await s.tick();
    expect(published[0]).toMatchObject({ messages_per_second: 0, audit_lag_s: null });
  });
});
