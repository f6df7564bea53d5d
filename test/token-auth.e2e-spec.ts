import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgent, http, provisionAgent, type TestAgent } from './support/agents.js';
import { uniqueId } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

// The default method (`token`) with nothing else configured; tokens issued by the operator CLI
// into the real Postgres, checked by the real gateway process.
describe('API token authentication (AUTH_METHODS default)', () => {
  let gateway: GatewayProcess;
  const tenant = uniqueId('acme');
  const otherTenant = uniqueId('globex');
  const alice = uniqueId('alice');
  const bob = uniqueId('bob');
  const eve = uniqueId('eve');
  const tokens: Record<string, string> = {};
  const open: TestAgent[] = [];

  beforeAll(async () => {
    gateway = await startGateway({});
    [tokens.alice, tokens.bob, tokens.eve] = await Promise.all([
      provisionAgent(alice, tenant, { capabilities: ['plan', 'search'] }),
      provisionAgent(bob, tenant),
      provisionAgent(eve, otherTenant),
    ]);
  }, 60_000);

  afterAll(async () => {
    for (const agent of open) agent.socket.close();
    await gateway?.stop();
  });

  const connect = async (options: Parameters<typeof connectAgent>[1]): Promise<TestAgent> => {
    const agent = await connectAgent(gateway.url, options);
    open.push(agent);
    return agent;
  };

  it('accepts a valid token in the handshake and binds the session to the registered agent', async () => {
    const agent = await connect({ agentId: alice, token: tokens.alice });
    expect(agent.session).toMatchObject({
      tenant_id: tenant,
      agent: { agent_id: alice, agent_name: alice, capabilities: ['plan', 'search'] },
      expires_at: null,
    });
  });

  it('accepts the token in an Authorization: Bearer header', async () => {
    const agent = await connect({ agentId: bob, headers: { authorization: `Bearer ${tokens.bob}` } });
    expect(agent.session.agent.agent_id).toBe(bob);
  });

  it.each([
    ['no credential', () => ({ agent_id: alice })],
    ['a made-up token', () => ({ agent_id: alice, token: `agt_${'A'.repeat(43)}` })],
    ['a malformed token', () => ({ agent_id: alice, token: 'agt_short' })],
    ["another agent's token", () => ({ agent_id: alice, token: tokens.bob })],
  ])('refuses %s with UNAUTHORIZED', async (_name, auth) => {
    await expect(connectAgent(gateway.url, { auth: auth() })).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED', message: expect.any(String) },
    });
  });

  it('lets a registered agent narrow its capabilities but not widen them', async () => {
    await expect(
      connectAgent(gateway.url, { auth: { agent_id: alice, token: tokens.alice, capabilities: ['admin'] } }),
    ).rejects.toMatchObject({
      data: { code: 'FORBIDDEN', message: 'capabilities not registered for this agent: admin' },
    });
  });

  it('refuses an expired token and disconnects a session when its token expires', async () => {
    const shortLived = uniqueId('ephemeral');
    const token = await provisionAgent(shortLived, tenant, { expiresInS: 5 });
    const agent = await connect({ agentId: shortLived, token });
    expect(Date.parse(agent.session.expires_at ?? '')).toBeGreaterThan(Date.now());
    await agent.disconnected;
    expect(agent.closed).toEqual([{ reason: 'expired', message: expect.any(String), reconnect: false }]);
    await expect(connectAgent(gateway.url, { agentId: shortLived, token })).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
  }, 20_000);

  it("keeps tenants apart: another tenant's agent is invisible to messages and the directory", async () => {
    const a = await connect({ agentId: alice, token: tokens.alice });
    const e = await connect({ agentId: eve, token: tokens.eve });
    expect(await a.call('send', { to_agent_id: eve, content: [{ type: 'text', text: 'psst' }] })).toEqual({
      error: { code: 'AGENT_NOT_FOUND', message: `agent "${eve}" is not connected`, request_id: expect.any(String) },
    });
    expect(e.messages).toHaveLength(0);
    const asAlice = await http('GET', `${gateway.url}/gateway/agents`, { headers: { authorization: `Bearer ${tokens.alice}` } });
    const ids = (asAlice.body.agents as { agent_id: string }[]).map((x) => x.agent_id);
    expect(ids).toContain(alice);
    expect(ids).not.toContain(eve);
    expect(
      (await http('GET', `${gateway.url}/gateway/agents/${eve}`, { headers: { authorization: `Bearer ${tokens.alice}` } })).status,
    ).toBe(404);
  });

  it('authenticates the HTTP API with the same tokens; from_agent_id must be the caller', async () => {
    const b = await connect({ agentId: bob, token: tokens.bob });
    const ok = await http('POST', `${gateway.url}/gateway/send`, {
      headers: { authorization: `Bearer ${tokens.alice}` },
      body: { to_agent_id: bob, content: [{ type: 'text', text: 'via http' }] },
    });
    expect(ok).toMatchObject({ status: 200, body: { status: 'delivered' } });
    expect(b.messages.at(-1)).toMatchObject({ from_agent_id: alice });
    const spoof = await http('POST', `${gateway.url}/gateway/send`, {
      headers: { authorization: `Bearer ${tokens.alice}` },
      body: { from_agent_id: bob, to_agent_id: bob, content: [{ type: 'text', text: 'x' }] },
    });
    expect(spoof).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    const noAuth = await http('GET', `${gateway.url}/gateway/status`, { headers: { 'x-agent-id': alice } });
    expect(noAuth).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
  });
});
