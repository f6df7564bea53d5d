import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, http, waitFor, type TestAgent } from './support/agents.js';
import { TEST_DATABASE_URL, uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

// Two real gateway processes sharing Redis and Postgres; policies stored through the admin API.
describe('authorization policy (contract §7.1) and tenant isolation', () => {
  let one: GatewayProcess;
  let two: GatewayProcess;
  let admin: AdminClient;
  const open: TestAgent[] = [];

  beforeAll(async () => {
    const env = { REDIS_KEY_PREFIX: uniquePrefix() };
    [one, two] = await Promise.all([startGateway(env), startGateway(env)]);
    admin = adminClient(one);
  });

  afterAll(async () => {
    for (const agent of open) agent.socket.close();
    await Promise.all([one?.stop(), two?.stop()]);
  });

  /** Registers an agent with capabilities, connects it to `gateway`, and returns it with its token. */
  const agentIn = async (
    tenant: string,
    gateway: GatewayProcess,
    capabilities: string[] = [],
    id = uniqueId('agent'),
  ): Promise<TestAgent & { id: string; token: string }> => {
    await admin.agent(tenant, { id, capabilities });
    const { token } = await admin.token(id);
    const agent = await connectAgent(gateway.url, { agentId: id, token });
    open.push(agent);
    return Object.assign(agent, { id, token });
  };
  const putPolicy = async (tenant: string, rules: unknown[]) => {
    const response = await admin.call('PUT', `/admin/v1/tenants/${tenant}/policy`, { rules });
    expect(response.status).toBe(200);
    return response.body;
  };
  const say = (from: TestAgent, to: string) => from.call('send', { to_agent_id: to, content: [{ type: 'text', text: 'hi' }] });

  it('shows the default policy of a tenant that has none, and validates documents naming the faulty rule', async () => {
    const tenant = await admin.tenant();
    expect(await admin.call('GET', `/admin/v1/tenants/${tenant}/policy`)).toEqual({
      status: 200,
      body: {
        tenant_id: tenant,
        rules: [{ effect: 'allow', actions: ['send', 'publish', 'subscribe'], from: {}, to: {} }],
        version: 0,
        updated_at: null,
        updated_by: null,
        default: true,
      },
    });
    const bad = await admin.call('PUT', `/admin/v1/tenants/${tenant}/policy`, {
      rules: [
        { effect: 'allow', actions: ['send'] },
        { effect: 'allow', actions: ['send'], to: { topic: 'x' } },
      ],
    });
    expect(bad).toEqual({
      status: 400,
      body: {
        error: { code: 'INVALID_MESSAGE', message: expect.stringMatching(/^rules\[1\]\.to\.topic: /), request_id: expect.any(String) },
      },
    });
    expect(await admin.call('PUT', '/admin/v1/tenants/no-such-tenant/policy', { rules: [] })).toMatchObject({ status: 404 });
    const stored = await putPolicy(tenant, [{ effect: 'allow', actions: ['send'] }]);
    expect(stored).toMatchObject({ tenant_id: tenant, version: 1, updated_by: 'break-glass', default: false });
  });

  it('within a tenant: capabilities and globs decide, deny wins, a denial is FORBIDDEN', async () => {
    const tenant = await admin.tenant();
    const planner = await agentIn(tenant, one, ['plan'], uniqueId('planner'));
    const writer = await agentIn(tenant, one, ['write'], uniqueId('writer'));
    const tool = await agentIn(tenant, two, ['search'], uniqueId('tool'));
    const vault = await agentIn(tenant, two, ['search'], uniqueId('tool-vault'));
    await putPolicy(tenant, [
      { effect: 'allow', actions: ['send'], from: { capability: 'plan' }, to: { agent_id: 'tool-*', capability: 'search' } },
      { effect: 'deny', actions: ['send'], to: { agent_id: 'tool-vault-*' } },
    ]);
    expect(await say(planner, tool.id)).toMatchObject({ status: 'delivered' });
    expect(await say(writer, tool.id)).toEqual({
      error: {
        code: 'FORBIDDEN',
        message: `the policy of tenant "${tenant}" does not allow sending to "${tool.id}"`,
        request_id: expect.any(String),
      },
    });
    expect(await say(planner, vault.id)).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(await say(tool, planner.id)).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(vault.messages).toHaveLength(0);
    // `send` covers the result of the same conversation: the tool may answer the planner.
    const asked = await planner.call('send', {
      to_agent_id: tool.id,
      content: [{ type: 'text', text: 'find it' }],
      expect_result: true,
      timeout_ms: 5_000,
    });
    await waitFor(() => tool.messages.some((m) => m.conversation_id === asked.conversation_id), 2_000, 'the request');
    expect(await tool.call('result', { conversation_id: asked.conversation_id, success: true, result: 'found' })).toEqual({
      status: 'delivered',
    });
  });

  it('a policy change applies on every node at once', async () => {
    const tenant = await admin.tenant();
    const a = await agentIn(tenant, two);
    const b = await agentIn(tenant, two);
    expect(await say(a, b.id)).toMatchObject({ status: 'delivered' });
    await putPolicy(tenant, [{ effect: 'allow', actions: ['publish'] }]);
    await waitFor(
      async () => ((await say(a, b.id)) as { error?: { code: string } }).error?.code === 'FORBIDDEN',
      1_000,
      'node two to apply the new policy',
    );
  });

  it('a stored policy that cannot be compiled denies everything for its tenant', async () => {
    const tenant = await admin.tenant();
    const db = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    await db.query(
      `INSERT INTO tenant_policies (tenant_id, document, updated_by) VALUES ($1, '{"rules":[{"effect":"perhaps"}]}', 'test')`,
      [tenant],
    );
    await db.end();
    const a = await agentIn(tenant, one);
    const b = await agentIn(tenant, one);
    expect(await say(a, b.id)).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });

  it('topics: subscribe and publish are authorized by topic glob and capability', async () => {
    const tenant = await admin.tenant();
    const dispatcher = await agentIn(tenant, one, ['dispatch']);
    const worker = await agentIn(tenant, two);
    await putPolicy(tenant, [
      { effect: 'allow', actions: ['subscribe'], to: { topic: 'jobs/*' } },
      { effect: 'allow', actions: ['publish'], from: { capability: 'dispatch' }, to: { topic: 'jobs/*' } },
    ]);
    const received: unknown[] = [];
    worker.socket.on('topic_message', (m: unknown) => received.push(m));
    expect(await worker.call('subscribe', { topic: 'jobs/eu' })).toEqual({ topic: 'jobs/eu', status: 'subscribed' });
    expect(await worker.call('subscribe', { topic: 'payroll' })).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(await worker.call('publish', { topic: 'jobs/eu', content: [{ type: 'text', text: 'me?' }] })).toMatchObject({
      error: { code: 'FORBIDDEN' },
    });
    const published = await dispatcher.call('publish', { topic: 'jobs/eu', content: [{ type: 'data', data: { job: 42 } }] });
    expect(published).toEqual({ message_id: expect.any(String), recipients: 1 });
    await waitFor(() => received.length === 1, 2_000, 'the topic message on the other node');
    expect(received[0]).toMatchObject({
      topic: 'jobs/eu',
      message_id: published.message_id,
      from_agent_id: dispatcher.id,
      content: [{ type: 'data', data: { job: 42 } }],
    });
  });

  describe('across tenants', () => {
    let acme: string;
    let globex: string;
    let a1: TestAgent & { id: string; token: string };
    let b1: TestAgent & { id: string; token: string };

    beforeAll(async () => {
      acme = await admin.tenant();
      globex = await admin.tenant();
      a1 = await agentIn(acme, one, ['plan']);
      b1 = await agentIn(globex, two, ['search']);
    });

    const asA1 = (path: string) => http('GET', `${one.url}${path}`, { headers: { authorization: `Bearer ${a1.token}` } });
    const invisible = async () => {
      expect(await say(a1, b1.id)).toEqual({
        error: { code: 'AGENT_NOT_FOUND', message: `agent "${b1.id}" is not connected`, request_id: expect.any(String) },
      });
      expect(await asA1(`/gateway/agents/${b1.id}`)).toMatchObject({ status: 404, body: { error: { code: 'AGENT_NOT_FOUND' } } });
    };

    it('without consent, the other tenant does not exist: no message, no directory entry, no HTTP answer', async () => {
      await invisible();
      const listing = (await asA1('/gateway/agents')).body.agents as { agent_id: string }[];
      expect(listing.map((a) => a.agent_id)).not.toContain(b1.id);
      expect((await asA1('/gateway/status')).body).toMatchObject({ connected_agents: 1 });
      expect(b1.messages).toHaveLength(0);
    });

    it('consent on one side only is not enough, on either side', async () => {
      await putPolicy(acme, [{ effect: 'allow', actions: ['send'], to: { tenant_id: globex } }]);
      await invisible();
      await putPolicy(acme, [{ effect: 'allow', actions: ['send'] }]);
      await putPolicy(globex, [{ effect: 'allow', actions: ['send'], from: { tenant_id: acme } }]);
      await invisible();
      expect(b1.messages).toHaveLength(0);
    });

    it('consent on both sides lets messages and results through, in that direction only', async () => {
      await putPolicy(acme, [{ effect: 'allow', actions: ['send'], to: { tenant_id: globex, capability: 'search' } }]);
      await putPolicy(globex, [{ effect: 'allow', actions: ['send'], from: { tenant_id: acme, capability: 'plan' } }]);
      const sent = await a1.call('send', {
        to_agent_id: b1.id,
        content: [{ type: 'text', text: 'hello globex' }],
        expect_result: true,
        timeout_ms: 5_000,
      });
      expect(sent).toMatchObject({ status: 'delivered' });
      expect(b1.messages.at(-1)).toMatchObject({ from_agent_id: a1.id });
      expect(await b1.call('result', { conversation_id: sent.conversation_id, success: true, result: 'hello acme' })).toEqual({
        status: 'delivered',
      });
      await waitFor(() => a1.results.length === 1, 2_000, 'the cross-tenant result');
      expect(await say(b1, a1.id)).toMatchObject({ error: { code: 'AGENT_NOT_FOUND' } });
      expect(await asA1(`/gateway/agents/${b1.id}`)).toMatchObject({ status: 200, body: { agent_id: b1.id } });
      // Rosters are never enumerated across tenants, consent or not.
      expect(((await asA1('/gateway/agents')).body.agents as { agent_id: string }[]).map((a) => a.agent_id)).not.toContain(b1.id);
    });

    it('topics never cross tenants', async () => {
      const a2 = await agentIn(acme, two);
      await putPolicy(acme, [{ effect: 'allow', actions: ['publish', 'subscribe'] }]);
      await putPolicy(globex, [{ effect: 'allow', actions: ['publish', 'subscribe'] }]);
      const inGlobex: unknown[] = [];
      const inAcme: unknown[] = [];
      b1.socket.on('topic_message', (m: unknown) => inGlobex.push(m));
      a2.socket.on('topic_message', (m: unknown) => inAcme.push(m));
      expect(await b1.call('subscribe', { topic: 'news' })).toMatchObject({ status: 'subscribed' });
      expect(await a2.call('subscribe', { topic: 'news' })).toMatchObject({ status: 'subscribed' });
      expect(await a1.call('publish', { topic: 'news', content: [{ type: 'text', text: 'acme only' }] })).toMatchObject({ recipients: 1 });
      await waitFor(() => inAcme.length === 1, 2_000, 'the acme subscriber');
      await new Promise((r) => setTimeout(r, 200));
      expect(inGlobex).toEqual([]);
    });
  });
});
