import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgent, http, waitFor, type ConnectOptions, type TestAgent } from './support/agents.js';
import { uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

// Two real gateway processes sharing one Redis: agents on either node reach each other.
describe('two gateway nodes', () => {
  let one: GatewayProcess;
  let two: GatewayProcess;
  const agents: TestAgent[] = [];
  const connect = async (gateway: GatewayProcess, id: string, onMessage?: ConnectOptions['onMessage']): Promise<TestAgent> => {
    const agent = await connectAgent(gateway.url, { agentId: id, ...(onMessage && { onMessage }) });
    agents.push(agent);
    return agent;
  };

  beforeAll(async () => {
    const env = { AUTH_METHODS: 'none', REDIS_KEY_PREFIX: uniquePrefix() };
    [one, two] = await Promise.all([startGateway(env), startGateway(env)]);
  });

  afterAll(async () => {
    for (const agent of agents) agent.socket.close();
    await Promise.all([one?.stop(), two?.stop()]);
  });

  it('delivers a message and routes its result between agents on different nodes', async () => {
    const worker = await connect(two, uniqueId('worker'));
    const boss = await connect(one, uniqueId('boss'));
    expect(worker.session.node_id).not.toBe(boss.session.node_id);
    const sent = await boss.call('send', {
      to_agent_id: worker.session.agent.agent_id,
      content: [{ type: 'text', text: 'across' }],
      expect_result: true,
      timeout_ms: 5_000,
    });
    expect(sent).toMatchObject({ status: 'delivered' });
    expect(worker.messages[0]).toMatchObject({ from_agent_id: boss.session.agent.agent_id, content: [{ type: 'text', text: 'across' }] });
    expect(await worker.call('result', { conversation_id: sent.conversation_id, success: true, result: 'back' })).toEqual({
      status: 'delivered',
    });
    await waitFor(() => boss.results.length === 1, 2_000, 'the result');
    expect(boss.results[0]).toMatchObject({ from_agent_id: worker.session.agent.agent_id, success: true, result: 'back' });
  });

  it('waits for the remote recipient client to ack before answering delivered', async () => {
    let ackedAt = 0;
    const slow = await connect(two, uniqueId('slow'), (_m, ack) =>
      setTimeout(() => {
        ackedAt = Date.now();
        ack({});
      }, 300),
    );
    const sender = await connect(one, uniqueId('sender'));
    const ack = await sender.call('send', { to_agent_id: slow.session.agent.agent_id, content: [{ type: 'text', text: 'x' }] });
    expect(ack.status).toBe('delivered');
    expect(ackedAt).toBeGreaterThan(0);
    expect(Date.now()).toBeGreaterThanOrEqual(ackedAt);
  });

  it('times out an expected result across nodes', async () => {
    const lazy = await connect(two, uniqueId('lazy'));
    const asker = await connect(one, uniqueId('asker'));
    await asker.call('send', {
      to_agent_id: lazy.session.agent.agent_id,
      content: [{ type: 'text', text: '?' }],
      expect_result: true,
      timeout_ms: 300,
    });
    await waitFor(() => asker.results.length === 1, 3_000, 'the TIMEOUT');
    expect(asker.results[0]).toMatchObject({ success: false, error: { code: 'TIMEOUT' } });
  });

  it('shows the same directory from both nodes', async () => {
    const a = await connect(one, uniqueId('dir-a'));
    const b = await connect(two, uniqueId('dir-b'));
    for (const gateway of [one, two]) {
      const { body } = await http('GET', `${gateway.url}/gateway/agents`, { headers: { 'x-agent-id': 'observer' } });
      const ids = (body.agents as { agent_id: string }[]).map((x) => x.agent_id);
      expect(ids).toEqual(expect.arrayContaining([a.session.agent.agent_id, b.session.agent.agent_id]));
    }
  });

  it('replaces a session on another node when the same agent connects again', async () => {
    const id = uniqueId('mover');
    const first = await connect(one, id);
    const second = await connect(two, id);
    await first.disconnected;
    expect(first.closed).toEqual([{ reason: 'replaced', message: expect.any(String), reconnect: false }]);
    const sender = await connect(one, uniqueId('sender'));
    expect(await sender.call('send', { to_agent_id: id, content: [{ type: 'text', text: 'where?' }] })).toMatchObject({
      status: 'delivered',
    });
    expect(second.messages).toHaveLength(1);
  });
});
