import { describe, expect, it } from 'vitest';
import type { AuditQueryService } from '#libs/audit';
import type { DependencyHealthRepository } from '#libs/observability';
import type { SessionAdminService, SessionView } from '#libs/routing';
import type { AdminPrincipal } from './admin-principal.js';
import type { NodeStats, NodeStatsRepository } from './node-stats.repository.js';
import { ReadOverview } from './read-overview.js';

const session = (agent: string, node: string, tenant = 'acme'): SessionView => ({
  session_id: `s-${agent}`,
  agent_id: agent,
  tenant_id: tenant,
  node_id: node,
  transport: 'socket.io',
  remote_addr: '127.0.0.1',
  connected_at: '2026-01-01T00:00:00.000Z',
  last_heartbeat: '2026-01-01T00:00:00.000Z',
});

const admin = (tenantId: string | null): AdminPrincipal => ({
  kind: 'sso',
  subject: 'a',
  roles: ['admin'],
  tenantId,
  request: 'GET /admin/v1/overview',
  remoteAddr: null,
});

/** The overview over fakes of its reads: live sessions, published node stats, the newest record, the two probes. */
function overview(options: { redis?: boolean; postgres?: boolean } = {}) {
  const asked: { tenant?: string | undefined }[] = [];
  const sessions = {
    list: (filter: { tenantId?: string }) => {
      asked.push({ tenant: filter.tenantId });
      const all = [session('p1', 'n1'), session('p2', 'n1'), session('t1', 'n2'), session('x1', 'n2', 'other')];
      return Promise.resolve({
        items: all.filter((s) => filter.tenantId === undefined || s.tenant_id === filter.tenantId),
        next_cursor: null,
      });
    },
  } as unknown as SessionAdminService;
  const stats = {
    list: (): Promise<NodeStats[]> =>
      Promise.resolve([
        { node_id: 'n1', sampled_at: new Date().toISOString(), messages_per_second: 12.5, audit_lag_s: 0.02 },
        { node_id: 'n3', sampled_at: new Date().toISOString(), messages_per_second: 2, audit_lag_s: null },
      ]),
  } as unknown as NodeStatsRepository;
  const audit = {
    page: () => Promise.resolve({ items: [{ timestamp: '2026-01-01T00:00:01.000Z' }], next_cursor: null }),
  } as unknown as AuditQueryService;
  const dependencies = {
    check: () => Promise.resolve({ postgres: options.postgres ?? true, redis: options.redis ?? true }),
  } as unknown as DependencyHealthRepository;
  return { read: new ReadOverview(sessions, stats, audit, dependencies), asked };
}

describe('ReadOverview', () => {
  it('groups live sessions by node, joins each node its published rates, and sums the cluster', async () => {
    const view = await overview().read.execute(admin(null));
    expect(view.nodes).toEqual([
      { node_id: 'n1', sessions: 2, messages_per_second: 12.5, audit_lag_s: 0.02 },
      { node_id: 'n2', sessions: 2, messages_per_second: null, audit_lag_s: null },
      { node_id: 'n3', sessions: 0, messages_per_second: 2, audit_lag_s: null },
    ]);
    expect(view).toMatchObject({
      sessions: 4,
      connected_agents: 4,
      messages_per_second: 14.5,
      audit: { lag_s: 0.02, newest_record_at: '2026-01-01T00:00:01.000Z' },
      readiness: { postgres: 'ok', redis: 'ok' },
    });
  });

  it("narrows a tenant-bound admin to its tenant's sessions, without the cluster's message rates", async () => {
    const { read, asked } = overview();
    const view = await read.execute(admin('acme'));
    expect(asked).toEqual([{ tenant: 'acme' }]);
    expect(view.sessions).toBe(3);
    expect(view.messages_per_second).toBeNull();
    expect(view.nodes.every((n) => n.messages_per_second === null)).toBe(true);
  });

  it('says which store is down instead of failing', async () => {
    const view = await overview({ redis: false, postgres: false }).read.execute(admin(null));
    expect(view).toMatchObject({
      sessions: 0,
      nodes: [],
      audit: { newest_record_at: null },
      readiness: { postgres: 'down', redis: 'down' },
    });
  });
});
