import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, http, waitFor } from './support/agents.js';
import { TEST_DATABASE_URL, uniquePrefix } from './support/env.js';
import { ADMIN_MAIN, startGateway, type GatewayProcess } from './support/gateway-process.js';
import { connectWs } from './support/ws-agent.js';

// apps/admin as its own process (the compiled dist/apps/admin/src/main.js) next to a gateway process
// started with ADMIN_ENABLED=false, on the same Postgres and Redis prefix: nothing in-process, the
// two talk only through Postgres and Redis (presence, the kick signal, the audit queue).
describe('apps/admin alone, next to a gateway without its admin plane', () => {
  const db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  let gateway: GatewayProcess;
  let adminApp: GatewayProcess;
  let admin: AdminClient;

  beforeAll(async () => {
    const prefix = uniquePrefix();
    gateway = await startGateway({ REDIS_KEY_PREFIX: prefix, ADMIN_ENABLED: 'false' });
    adminApp = await startGateway({ REDIS_KEY_PREFIX: prefix }, ADMIN_MAIN);
    admin = adminClient(adminApp);
  });

  afterAll(async () => {
    await Promise.all([gateway?.stop(), adminApp?.stop()]);
    await db.end();
  });

  it('the gateway serves no admin plane; apps/admin does, with /readyz and /metrics', async () => {
    expect(gateway.output.join('\n')).toMatch(/"event":"ready".*"admin_port":null/);
    expect(adminApp.adminPort).toBeGreaterThan(0);
    expect(await http('GET', `${adminApp.adminUrl}/readyz`)).toMatchObject({
      status: 200,
      body: { status: 'ok', checks: { postgres: 'ok', redis: 'ok' } },
    });
    const metrics = await fetch(`${adminApp.adminUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^agw_redis_durable\{mode="[a-z_]+"\} [01]$/m);
    // The agent port is not an admin port.
    expect((await http('GET', `${gateway.url}/admin/v1/tenants`, { headers: { authorization: `Bearer x` } })).status).toBe(404);
  });

  it('provisions a tenant, an agent and a token the gateway accepts; lists the live sessions the gateway holds and kicks them (revoked)', async () => {
    const tenant = await admin.tenant();
    const agentId = await admin.agent(tenant);
    const { token } = await admin.token(agentId);
    const sio = await connectAgent(gateway.url, { token });
    expect(sio.session).toMatchObject({ tenant_id: tenant, agent: { agent_id: agentId } });

    const listed = await admin.call('GET', `/admin/v1/sessions?tenant_id=${tenant}`);
    expect(listed).toMatchObject({
      status: 200,
      body: { items: [{ session_id: sio.session.session_id, agent_id: agentId, node_id: gateway.nodeId, transport: 'socket.io' }] },
    });

    expect((await admin.call('DELETE', `/admin/v1/sessions/${sio.session.session_id}`)).status).toBe(204);
    await waitFor(() => sio.closed.length > 0, 5_000, 'the kick to reach the agent');
    expect(await sio.disconnected).toBe('io server disconnect');
    expect(sio.closed).toEqual([{ reason: 'revoked', message: 'an administrator closed this session', reconnect: false }]);
    await waitFor(
      async () => ((await admin.call('GET', `/admin/v1/sessions?tenant_id=${tenant}`)).body.items as unknown[]).length === 0,
      5_000,
      'the kicked session to leave the listing',
    );

    // The plain WebSocket transport too: session_closed, then the terminal close code.
    const ws = await connectWs(gateway.url, token);
    expect((await admin.call('DELETE', `/admin/v1/sessions/${String(ws.session.session_id)}`)).status).toBe(204);
    expect(await ws.next('session_closed')).toMatchObject({ reason: 'revoked', reconnect: false });
    expect(await ws.closed).toEqual({ code: 4410, reason: 'revoked' });

    // apps/admin has no audit writer: its records reach Postgres through the gateway's.
    await waitFor(
      async () =>
        (await db.query("SELECT 1 FROM audit_records WHERE action = 'session.kicked' AND tenant_id = $1", [tenant])).rowCount === 2,
      10_000,
      'the two session.kicked records',
    );
  });
});
