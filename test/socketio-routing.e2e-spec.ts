import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgent, waitFor, type TestAgent } from './support/agents.js';
import { uniqueId } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

// Real: the compiled gateway process, Postgres, Redis, socket.io-client. Auth method `none`, so
// these tests are about routing semantics; authentication has its own suite.
describe('socket.io agent plane: routing', () => {
  let gateway: GatewayProcess;
  const agents: TestAgent[] = [];
  const connect = async (...args: Parameters<typeof connectAgent>): Promise<TestAgent> => {
    const agent = await connectAgent(...args);
    agents.push(agent);
    return agent;
  };

  beforeAll(async () => {
    gateway = await startGateway({ AUTH_METHODS: 'none', DELIVERY_TIMEOUT_MS: '600' });
  });

  afterAll(async () => {
    for (const agent of agents) agent.socket.close();
    await gateway?.stop();
  });

  it('sends `session` on connect with the contract fields', async () => {
    const id = uniqueId('card');
    const agent = await connect(gateway.url, { auth: { agent_id: id, agent_name: 'Card Agent', capabilities: ['search'] } });
    expect(agent.session).toMatchObject({
      session_id: expect.any(String),
      agent: { agent_id: id, agent_name: 'Card Agent', capabilities: ['search'] },
      heartbeat_interval_s: 30,
      heartbeat_timeout_s: 60,
      expires_at: null,
    });
  });

  it('acks `send` as delivered only after the recipient client acked the message', async () => {
    const events: string[] = [];
    const receiver = await connect(gateway.url, {
      agentId: uniqueId('slow-receiver'),
      onMessage: (_message, ack) => {
        events.push('message received');
        setTimeout(() => {
          events.push('recipient acked');
          ack({ status: 'received' });
        }, 300);
      },
    });
    const sender = await connect(gateway.url, { agentId: uniqueId('sender') });
    const ack = await sender.call('send', { to_agent_id: receiver.session.agent.agent_id, content: [{ type: 'text', text: 'hi' }] });
    events.push('sender got delivered');
    expect(ack).toMatchObject({
      message_id: expect.any(String),
      conversation_id: expect.any(String),
      status: 'delivered',
      timestamp: expect.any(String),
    });
    expect(events).toEqual(['message received', 'recipient acked', 'sender got delivered']);
    expect(receiver.messages[0]).toMatchObject({
      message_id: ack.message_id,
      from_agent_id: sender.session.agent.agent_id,
      to_agent_id: receiver.session.agent.agent_id,
      conversation_id: ack.conversation_id,
      content: [{ type: 'text', text: 'hi' }],
      metadata: {},
      expect_result: false,
    });
  });

  it('answers TIMEOUT when the recipient never acknowledges the message', async () => {
    const mute = await connect(gateway.url, { agentId: uniqueId('mute'), onMessage: () => undefined });
    const sender = await connect(gateway.url, { agentId: uniqueId('sender') });
    const ack = await sender.call('send', { to_agent_id: mute.session.agent.agent_id, content: [{ type: 'text', text: 'anyone?' }] });
    expect(ack).toEqual({
      error: { code: 'TIMEOUT', message: expect.stringContaining('did not acknowledge'), request_id: expect.any(String) },
    });
  });

  it('answers AGENT_NOT_FOUND, not TIMEOUT, when the recipient disconnects without acknowledging the message', async () => {
    // The message arrives after `connect` resolved: `leaver` is set by then.
    const leaver: TestAgent = await connect(gateway.url, { agentId: uniqueId('leaver'), onMessage: () => leaver.socket.disconnect() });
    const sender = await connect(gateway.url, { agentId: uniqueId('sender') });
    const ack = await sender.call('send', { to_agent_id: leaver.session.agent.agent_id, content: [{ type: 'text', text: 'bye?' }] });
    expect(ack).toEqual({
      error: { code: 'AGENT_NOT_FOUND', message: expect.stringContaining('disconnected'), request_id: expect.any(String) },
    });
  });

  it('routes a `result` back to the agent that sent the last message of the conversation', async () => {
    const worker = await connect(gateway.url, { agentId: uniqueId('worker') });
    const boss = await connect(gateway.url, { agentId: uniqueId('boss') });
    const sent = await boss.call('send', {
      to_agent_id: worker.session.agent.agent_id,
      conversation_id: 'conv-1',
      content: [{ type: 'data', data: { task: 'sum', args: [1, 2] } }],
      expect_result: true,
      timeout_ms: 5_000,
    });
    expect(sent.conversation_id).toBe('conv-1');
    expect(worker.messages[0]).toMatchObject({ expect_result: true, result_deadline: expect.any(String) });
    const ack = await worker.call('result', { conversation_id: 'conv-1', success: true, result: 3, metadata: { took_ms: 1 } });
    expect(ack).toEqual({ status: 'delivered' });
    await waitFor(() => boss.results.length === 1, 2_000, 'the result');
    expect(boss.results[0]).toEqual({
      conversation_id: 'conv-1',
      from_agent_id: worker.session.agent.agent_id,
      success: true,
      result: 3,
      metadata: { took_ms: 1 },
    });
  });

  it('refuses a `result` for a conversation the agent never received with AGENT_NOT_FOUND', async () => {
    const agent = await connect(gateway.url, { agentId: uniqueId('stranger') });
    const ack = await agent.call('result', { conversation_id: 'never-seen', success: true, result: 1 });
    expect(ack).toEqual({ error: { code: 'AGENT_NOT_FOUND', message: expect.any(String), request_id: expect.any(String) } });
  });

  it('sends a TIMEOUT result when the recipient does not answer within timeout_ms', async () => {
    const lazy = await connect(gateway.url, { agentId: uniqueId('lazy') });
    const asker = await connect(gateway.url, { agentId: uniqueId('asker') });
    const sent = await asker.call('send', {
      to_agent_id: lazy.session.agent.agent_id,
      content: [{ type: 'text', text: 'answer me' }],
      expect_result: true,
      timeout_ms: 300,
    });
    expect(sent.status).toBe('delivered');
    await waitFor(() => asker.results.length === 1, 3_000, 'the TIMEOUT result');
    expect(asker.results[0]).toEqual({
      conversation_id: sent.conversation_id,
      from_agent_id: lazy.session.agent.agent_id,
      success: false,
      error: { code: 'TIMEOUT', message: expect.stringContaining('300 ms') },
      metadata: {},
    });
  });

  it('answers AGENT_NOT_FOUND for an agent that is not connected', async () => {
    const sender = await connect(gateway.url, { agentId: uniqueId('sender') });
    const ack = await sender.call('send', { to_agent_id: 'nobody-here', content: [{ type: 'text', text: 'hello?' }] });
    expect(ack).toEqual({
      error: { code: 'AGENT_NOT_FOUND', message: 'agent "nobody-here" is not connected', request_id: expect.any(String) },
    });
  });

  it('answers heartbeat, ping and update_card', async () => {
    const agent = await connect(gateway.url, { agentId: uniqueId('alive') });
    expect(await agent.call('heartbeat', { timestamp: new Date().toISOString() })).toEqual({ timestamp: expect.any(String) });
    expect(await agent.call('heartbeat', {})).toEqual({ timestamp: expect.any(String) });
    expect(await agent.call('ping', {})).toEqual({ status: 'pong' });
    const card = await agent.call('update_card', { agent_name: 'Renamed', capabilities: ['plan'], metadata: { zone: 'eu' } });
    expect(card).toEqual({
      agent_id: agent.session.agent.agent_id,
      agent_name: 'Renamed',
      capabilities: ['plan'],
      description: null,
      metadata: { zone: 'eu' },
    });
  });

  it('closes the older session with `replaced` when the same agent connects again', async () => {
    const id = uniqueId('twin');
    const first = await connect(gateway.url, { agentId: id });
    const second = await connect(gateway.url, { agentId: id });
    expect(await first.disconnected).toBe('io server disconnect');
    expect(first.closed).toEqual([{ reason: 'replaced', message: expect.any(String), reconnect: false }]);
    const sender = await connect(gateway.url, { agentId: uniqueId('sender') });
    const ack = await sender.call('send', { to_agent_id: id, content: [{ type: 'text', text: 'which one?' }] });
    expect(ack.status).toBe('delivered');
    expect(second.messages).toHaveLength(1);
  });
});
