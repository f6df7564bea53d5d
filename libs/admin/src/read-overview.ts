import { Injectable } from '@nestjs/common';
import { AuditQueryService } from '#libs/audit';
import { DependencyHealthRepository } from '#libs/observability';
import { SessionAdminService } from '#libs/routing';
import type { AdminPrincipal } from './admin-principal.js';
import { NODE_STATS_INTERVAL_MS } from './node-stats.sampler.js';
import { NodeStatsRepository, type NodeStats } from './node-stats.repository.js';

/** A node that has not published for this long has stopped. */
const NODE_STATS_MAX_AGE_MS = 3 * NODE_STATS_INTERVAL_MS;

/** `GET /admin/v1/overview`: what the console's Overview shows. */
export interface OverviewView {
  generated_at: string;
  nodes: { node_id: string; sessions: number; messages_per_second: number | null; audit_lag_s: number | null }[];
  sessions: number;
  connected_agents: number;
  /** The cluster's messages per second over the last interval; null for a tenant-bound admin (not its tenant's figure). */
  messages_per_second: number | null;
  audit: { lag_s: number | null; newest_record_at: string | null };
  readiness: { postgres: 'ok' | 'down'; redis: 'ok' | 'down' };
}

/**
 * The Overview in one read: live sessions grouped by node (the shared presence), each node's
 * published throughput and audit lag ({@link NodeStats}), the newest audit record and whether this
 * node reaches Postgres and Redis. A tenant-bound admin sees its tenant's sessions and records only.
 */
@Injectable()
export class ReadOverview {
  constructor(
    private readonly sessions: SessionAdminService,
    private readonly stats: NodeStatsRepository,
    private readonly audit: AuditQueryService,
    private readonly dependencies: DependencyHealthRepository,
  ) {}

  async execute(admin: AdminPrincipal): Promise<OverviewView> {
    const now = Date.now();
    const tenantId = admin.tenantId ?? undefined;
    const { postgres, redis } = await this.dependencies.check();
    const [live, published, newest] = await Promise.all([
      redis ? this.sessions.list({ tenantId }, Number.MAX_SAFE_INTEGER) : { items: [] },
      redis ? this.stats.list(now, NODE_STATS_MAX_AGE_MS) : ([] as NodeStats[]),
      postgres ? this.audit.page(tenantId === undefined ? {} : { tenantId }, 1, undefined) : { items: [] },
    ]);
    const perNode = new Map<string, number>();
    for (const session of live.items) perNode.set(session.node_id, (perNode.get(session.node_id) ?? 0) + 1);
    const byId = new Map(published.map((s) => [s.node_id, s]));
    const cluster = admin.tenantId === null;
    const nodes = [...new Set([...byId.keys(), ...perNode.keys()])].sort().map((nodeId) => ({
      node_id: nodeId,
      sessions: perNode.get(nodeId) ?? 0,
      messages_per_second: cluster ? (byId.get(nodeId)?.messages_per_second ?? null) : null,
      audit_lag_s: byId.get(nodeId)?.audit_lag_s ?? null,
    }));
    const lags = published.map((s) => s.audit_lag_s).filter((lag): lag is number => lag !== null);
    return {
      generated_at: new Date(now).toISOString(),
      nodes,
      sessions: live.items.length,
      connected_agents: new Set(live.items.map((s) => s.agent_id)).size,
      messages_per_second: cluster ? Math.round(published.reduce((sum, s) => sum + s.messages_per_second, 0) * 1000) / 1000 : null,
      audit: { lag_s: lags.length > 0 ? Math.max(...lags) : null, newest_record_at: newest.items[0]?.timestamp ?? null },
      readiness: { postgres: postgres ? 'ok' : 'down', redis: redis ? 'ok' : 'down' },
    };
  }
}
