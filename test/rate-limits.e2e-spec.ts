import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, http, waitFor, type TestAgent } from './support/agents.js';
import { privateDatabaseUrl, uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

// The rate-limit document is deployment-wide, so this suite has a database of its own. Two real
// gateway processes share Redis: every limit below is one shared bucket.
describe('rate limits (contract §7.2)', () => {
  let one: GatewayProcess;
  let two: GatewayProcess;
  let admin: AdminClient;
  let tenant: string;
  const open: TestAgent[] = [];
  let document: Record<string, unknown> = {};

  beforeAll(async () => {
    const env = { DATABASE_URL: privateDatabaseUrl('ratelimits'), REDIS_KEY_PREFIX: uniquePrefix() };
    one = await startGateway(env);
    two = await startGateway(env);
    admin = adminClient(one);
    tenant = await admin.tenant();
  });

  afterAll(async () => {
    for (const agent of open) agent.socket.close();
    await Promise.all([one?.stop(), two?.stop()]);
  });

  /** Adds entries to the stored document (the admin API replaces it whole). */
  const limit = async (patch: {
    tenants?: Record<string, unknown>;
    agents?: Record<string, unknown>;
    defaults?: Record<string, unknown>;
  }) => {
    document = {
      ...document,
      ...(patch.defaults && { defaults: { ...(document.defaults as object), ...patch.defaults } }),
      tenants: { ...(document.tenants as object), ...patch.tenants },
      agents: { ...(document.agents as object), ...patch.agents },
    };
    const response = await admin.call('PUT', '/admin/v1/rate-limits', document);
    expect(response.status).toBe(200);
  };
  const agentWithToken = async (t = tenant): Promise<{ id: string; token: string }> => {
    const id = await admin.agent(t);
    return { id, token: (await admin.token(id)).token };
  };
  const httpSend = (gateway: GatewayProcess, token: string, to: string) =>
    http('POST', `${gateway.url}/gateway/send`, {
      headers: { authorization: `Bearer ${token}` },
      body: { to_agent_id: to, content: [{ type: 'text', text: 'x' }] },
    });

  it('shows the effective defaults and validates documents', async () => {
    const view = await admin.call('GET', '/admin/v1/rate-limits');
    expect(view).toMatchObject({
      status: 200,
      body: {
        effective_defaults: {
          messages_per_second: expect.any(Number),
          burst: expect.any(Number),
          connects_per_minute_per_ip: expect.any(Number),
        },
        version: 0,
      },
    });
    expect(await admin.call('PUT', '/admin/v1/rate-limits', { agents: { x: { messages_per_second: -1 } } })).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_MESSAGE', message: expect.stringContaining('agents.x.messages_per_second') } },
    });
    expect(await admin.call('PUT', '/admin/v1/rate-limits', { defaults: { burst: 10 }, bogus: 1 })).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringContaining('bogus') } },
    });
  });

  it('admits between B and B plus the refill when M messages hit one agent through two nodes at once', async () => {
    const receiver = await agentWithToken();
    const sender = await agentWithToken();
    const rate = 2;
    const burst = 20;
    await limit({ agents: { [sender.id]: { messages_per_second: rate, burst } } });
    open.push(await connectAgent(one.url, { agentId: receiver.id, token: receiver.token }));
    const started = Date.now();
    const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => httpSend(i % 2 ? two : one, sender.token, receiver.id)));
    const elapsedS = (Date.now() - started) / 1000;
    const statuses = responses.map((r) => r.status);
    expect(new Set(statuses)).toEqual(new Set([200, 429]));
    const delivered = statuses.filter((s) => s === 200).length;
    // Below 100 msgs/s a node takes one token at a time: the shared bucket is exact, up to its refill.
    expect(delivered).toBeGreaterThanOrEqual(burst);
    expect(delivered).toBeLessThanOrEqual(burst + Math.ceil(rate * elapsedS));
    const refused = responses.find((r) => r.status === 429)!;
    expect(refused.body).toMatchObject({ error: { code: 'RATE_LIMIT', retry_after_ms: expect.any(Number) } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit-limit')).toBe(String(burst));
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(refused.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
  });

  it('tells the true refill time in retry_after_ms, within 20%', async () => {
    const receiver = await agentWithToken();
    const sender = await agentWithToken();
    await limit({ agents: { [sender.id]: { messages_per_second: 2, burst: 1 } } });
    open.push(await connectAgent(two.url, { agentId: receiver.id, token: receiver.token }));
    expect((await httpSend(one, sender.token, receiver.id)).status).toBe(200);
    const refused = await httpSend(two, sender.token, receiver.id);
    const refusedAt = Date.now();
    expect(refused.status).toBe(429);
    const retryAfter = (refused.body.error as { retry_after_ms: number }).retry_after_ms;
    expect(retryAfter).toBeGreaterThan(300);
    expect(retryAfter).toBeLessThanOrEqual(500);
    await new Promise((r) => setTimeout(r, Math.max(0, refusedAt + retryAfter * 0.8 - Date.now())));
    expect((await httpSend(one, sender.token, receiver.id)).status).toBe(429);
    await new Promise((r) => setTimeout(r, Math.max(0, refusedAt + retryAfter * 1.2 - Date.now())));
    expect((await httpSend(two, sender.token, receiver.id)).status).toBe(200);
  });

  it('answers RATE_LIMIT on sockets, and never counts heartbeat, ping or result', async () => {
    const peer = await agentWithToken();
    const talker = await agentWithToken();
    await limit({ agents: { [talker.id]: { messages_per_second: 0.5, burst: 2 } } });
    const p = await connectAgent(one.url, { agentId: peer.id, token: peer.token });
    const t = await connectAgent(two.url, { agentId: talker.id, token: talker.token });
    open.push(p, t);
    const sent = await t.call('send', { to_agent_id: peer.id, content: [{ type: 'text', text: '1' }] });
    expect(sent.status).toBe('delivered');
    expect((await t.call('send', { to_agent_id: peer.id, content: [{ type: 'text', text: '2' }] })).status).toBe('delivered');
    expect(await t.call('send', { to_agent_id: peer.id, content: [{ type: 'text', text: '3' }] })).toEqual({
      error: {
        code: 'RATE_LIMIT',
        message: 'message rate limit reached',
        retry_after_ms: expect.any(Number),
        request_id: expect.any(String),
      },
    });
    for (let i = 0; i < 5; i++) {
      expect(await t.call('ping', {})).toEqual({ status: 'pong' });
      expect(await t.call('heartbeat', {})).toMatchObject({ timestamp: expect.any(String) });
    }
    // Malformed and unknown events count as well: over the limit they get RATE_LIMIT, not a free parse.
    expect(await t.call('teleport', {})).toMatchObject({ error: { code: 'RATE_LIMIT' } });
    expect(await t.call('send', { to_agent_id: 42 })).toMatchObject({ error: { code: 'RATE_LIMIT' } });
    // A malformed heartbeat is still a heartbeat: never counted.
    expect(await t.call('heartbeat', { bogus: true })).toMatchObject({ error: { code: 'INVALID_MESSAGE' } });
    // The talker, over its limit, answers the peer: results are never counted, so it goes through.
    const asked = await p.call('send', { to_agent_id: talker.id, content: [{ type: 'text', text: 'go' }], expect_result: true });
    expect(asked).toMatchObject({ status: 'delivered' });
    expect(await t.call('send', { to_agent_id: peer.id, content: [{ type: 'text', text: '4' }] })).toMatchObject({
      error: { code: 'RATE_LIMIT' },
    });
    expect(await t.call('result', { conversation_id: asked.conversation_id, success: true, result: 'gone' })).toEqual({
      status: 'delivered',
    });
    await waitFor(() => p.results.some((r) => r.conversation_id === asked.conversation_id), 3_000, 'the result at the peer');
  });

  it('bounds all agents of a tenant by its aggregate', async () => {
    const busy = await admin.tenant(uniqueId('busy'));
    const [a, b, sink] = await Promise.all([agentWithToken(busy), agentWithToken(busy), agentWithToken(busy)]);
    await limit({ tenants: { [busy]: { messages_per_second: 100, burst: 100, tenant_messages_per_second: 0.5, tenant_burst: 3 } } });
    open.push(await connectAgent(one.url, { agentId: sink.id, token: sink.token }));
    const statuses = [];
    for (const sender of [a, b, a, b]) statuses.push((await httpSend(sender === a ? one : two, sender.token, sink.id)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('limits connects per minute per remote address, before authenticating', async () => {
    const agent = await agentWithToken();
    await limit({ defaults: { connects_per_minute_per_ip: 2 } });
    const first = await connectAgent(one.url, { agentId: agent.id, token: agent.token });
    first.socket.close();
    await expect(connectAgent(two.url, { agentId: agent.id, token: 'agt_wrong' })).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED' },
    });
    await expect(connectAgent(one.url, { agentId: agent.id, token: agent.token })).rejects.toMatchObject({
      data: { code: 'RATE_LIMIT', retry_after_ms: expect.any(Number) },
    });
  });
});
