import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from './support/admin.js';
import { connectAgent, http, waitFor, type TestAgent } from './support/agents.js';
import { TEST_DATABASE_URL, uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { openWs } from './support/ws-agent.js';

// Two compiled gateways: one that trusts the test's own address (127.0.0.1) as a proxy, one that
// trusts nobody. The test plays the proxy: it writes X-Forwarded-For itself. Real: both transports,
// the agent HTTP API, the connect limit (2 per minute per address), the audit trail in Postgres and
// the admin session listing.
describe('X-Forwarded-For (TRUSTED_PROXIES)', () => {
  const db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  let trusting: GatewayProcess;
  let ignoring: GatewayProcess;
  const agents: TestAgent[] = [];
  const limits = { RATE_LIMIT_DEFAULTS: '{"messages_per_second":100000,"burst":100000,"connects_per_minute_per_ip":2}' };

  beforeAll(async () => {
    [trusting, ignoring] = await Promise.all([
      startGateway({ AUTH_METHODS: 'none', REDIS_KEY_PREFIX: uniquePrefix(), TRUSTED_PROXIES: '127.0.0.1', ...limits }),
      startGateway({ AUTH_METHODS: 'none', REDIS_KEY_PREFIX: uniquePrefix(), ...limits }),
    ]);
  });

  afterAll(async () => {
    for (const agent of agents) agent.socket.close();
    await Promise.all([trusting?.stop(), ignoring?.stop()]);
    await db.end();
  });

  const connect = async (gateway: GatewayProcess, forwardedFor: string) => {
    const agent = await connectAgent(gateway.url, { agentId: uniqueId('xff'), headers: { 'x-forwarded-for': forwardedFor } });
    agents.push(agent);
    return agent;
  };
  const listed = async (gateway: GatewayProcess, agentId: string) =>
    (
      (await adminClient(gateway).call('GET', `/admin/v1/sessions?agent_id=${agentId}`)).body.items as {
        remote_addr: string;
      }[]
    )[0]?.remote_addr;
  /** The remote_addr of `action` records about `agentId`, once `count` of them are written. */
  const audited = async (gateway: GatewayProcess, action: string, column: 'subject' | 'actor_id', agentId: string, count = 1) => {
    const read = async () =>
      (
        await db.query<{ remote_addr: string }>(
          `SELECT remote_addr FROM audit_records WHERE action = $1 AND ${column} = $2 AND node_id = $3 ORDER BY seq`,
          [action, agentId, gateway.nodeId],
        )
      ).rows.map((r) => r.remote_addr);
    await waitFor(async () => (await read()).length >= count, 10_000, `${action} of ${agentId}`);
    return read();
  };

  it('from a trusted proxy: the client address (first untrusted hop from the right) is what connects are counted, audited and listed under', async () => {
    const client = '198.51.100.7';
    // The leftmost hop is what the client itself wrote: not believed.
    const first = await connect(trusting, `203.0.113.66, ${client}`);
    const ws = await openWs(trusting.url, {
      query: { agent_id: uniqueId('xff-ws') },
      headers: { 'x-forwarded-for': client },
    });
    expect((await ws.next((f) => f.type === 'session' || f.type === 'error')).type).toBe('session');

    // The client's budget (2 connects per minute) is spent on both transports alike…
    const refusedId = uniqueId('xff-refused');
    await expect(connectAgent(trusting.url, { agentId: refusedId, headers: { 'x-forwarded-for': client } })).rejects.toMatchObject({
      data: { code: 'RATE_LIMIT' },
    });
    const refusedWs = await openWs(trusting.url, { query: { agent_id: uniqueId('xff-ws') }, headers: { 'x-forwarded-for': client } });
    expect(await refusedWs.next('error')).toMatchObject({ code: 'RATE_LIMIT' });
    expect((await refusedWs.closed).code).toBe(4529);
    // …while another client behind the same proxy has its own.
    const neighbour = await connect(trusting, '198.51.100.8');

    expect(await listed(trusting, first.session.agent.agent_id)).toBe(client);
    expect(await listed(trusting, neighbour.session.agent.agent_id)).toBe('198.51.100.8');
    expect(await audited(trusting, 'agent.connect', 'subject', first.session.agent.agent_id)).toEqual([client]);
    expect(await audited(trusting, 'agent.connect_denied', 'subject', refusedId)).toEqual([client]);

    // The agent HTTP API resolves it the same way.
    const sender = uniqueId('xff-http');
    const sent = await http('POST', `${trusting.url}/gateway/send`, {
      headers: { 'x-agent-id': sender, 'x-forwarded-for': `10.1.1.1, ${client}` },
      body: { to_agent_id: first.session.agent.agent_id, content: [{ type: 'text', text: 'via the proxy' }] },
    });
    expect(sent.status).toBe(200);
    expect(await audited(trusting, 'message.routed', 'actor_id', sender)).toEqual([client]);
    ws.socket.close();
  });

  it('from a trusted proxy: a header that is no address is ignored, and the proxy is the client', async () => {
    const agent = await connect(trusting, 'not-an-address');
    expect(await listed(trusting, agent.session.agent.agent_id)).toBe('127.0.0.1');
    expect(await audited(trusting, 'agent.connect', 'subject', agent.session.agent.agent_id)).toEqual(['127.0.0.1']);
  });

  it('from a peer that is not a trusted proxy the header is ignored: every connect counts against the peer', async () => {
    const first = await connect(ignoring, '198.51.100.7');
    await connect(ignoring, '198.51.100.8');
    await expect(
      connectAgent(ignoring.url, { agentId: uniqueId('xff'), headers: { 'x-forwarded-for': '198.51.100.9' } }),
    ).rejects.toMatchObject({ data: { code: 'RATE_LIMIT' } });
    expect(await listed(ignoring, first.session.agent.agent_id)).toBe('127.0.0.1');
    expect(await audited(ignoring, 'agent.connect', 'subject', first.session.agent.agent_id)).toEqual(['127.0.0.1']);
  });
});
