import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from './support/admin.js';
import { connectAgent, http, waitFor, type TestAgent } from './support/agents.js';
import { TEST_ADMIN_TOKEN, uniqueId } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { connectWs, openWs } from './support/ws-agent.js';

const text = (t: string) => [{ type: 'text', text: t }];

/** An array nested `levels` deep: `[[[…]]]`. */
function nested(levels: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}

/**
 * The JSON text of {@link nested}: what a hostile client sends. It cannot be built with
 * `JSON.stringify`, nor sent through socket.io-client's encoder: both overflow the stack first.
 */
const deepJson = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);

let rawAckId = 9000;

/** Emits `event` with a payload given as JSON text, in a socket.io packet written by hand, and resolves with its ack. */
function rawEmit(agent: TestAgent, event: string, payloadJson: string): Promise<unknown> {
  const id = ++rawAckId;
  const engine = agent.socket.io.engine;
  const prefix = `3/gateway,${id}`;
  return new Promise((resolve) => {
    const onPacket = (packet: { type: string; data?: unknown }) => {
      if (packet.type !== 'message' || typeof packet.data !== 'string' || !packet.data.startsWith(prefix)) return;
      engine.off('packet', onPacket);
      resolve((JSON.parse(packet.data.slice(prefix.length)) as unknown[])[0]);
    };
    engine.on('packet', onPacket);
    engine.write(`2/gateway,${id}["${event}",${payloadJson}]`);
  });
}

// Per-session and per-agent limits (Centrifuge-style): each refuses with a code the client can act
// on and a `reason` naming the limit, and the connection stays usable.
describe('per-session and per-agent limits', () => {
  let gateway: GatewayProcess;
  const agents: TestAgent[] = [];
  const connect = async (options: Parameters<typeof connectAgent>[1] = {}): Promise<TestAgent> => {
    const agent = await connectAgent(gateway.url, { agentId: uniqueId('lim'), ...options });
    agents.push(agent);
    return agent;
  };

  beforeAll(async () => {
    gateway = await startGateway({
      AUTH_METHODS: 'none',
      MAX_TOPICS_PER_SESSION: '3',
      MAX_PENDING_RESULTS_PER_AGENT: '2',
      MAX_INFLIGHT_DELIVERIES_PER_AGENT: '2',
      MAX_CARD_BYTES: '512',
      DELIVERY_TIMEOUT_MS: '20000',
    });
  });

  afterAll(async () => {
    for (const agent of agents) agent.socket.close();
    await gateway?.stop();
  });

  it('topics per session: the next subscribe is LIMIT_EXCEEDED until one is unsubscribed', async () => {
    const agent = await connect();
    for (const topic of ['a/1', 'a/2', 'a/3']) expect(await agent.call('subscribe', { topic })).toMatchObject({ status: 'subscribed' });
    expect(await agent.call('subscribe', { topic: 'a/2' })).toMatchObject({ status: 'subscribed' }); // already held: no new room
    expect(await agent.call('subscribe', { topic: 'a/4' })).toEqual({
      error: {
        code: 'LIMIT_EXCEEDED',
        reason: 'max_topics_per_session',
        message: expect.stringContaining('MAX_TOPICS_PER_SESSION'),
        request_id: expect.any(String),
      },
    });
    await agent.call('unsubscribe', { topic: 'a/1' });
    expect(await agent.call('subscribe', { topic: 'a/4' })).toMatchObject({ status: 'subscribed' });
  });

  it('pending results per agent: a third awaited result is LIMIT_EXCEEDED; a time-out frees the room', async () => {
    const silent = await connect();
    const sender = await connect();
    const ask = (timeout_ms: number) =>
      sender.call('send', { to_agent_id: silent.session.agent.agent_id, content: text('?'), expect_result: true, timeout_ms });
    expect(await ask(1_500)).toMatchObject({ status: 'delivered' });
    expect(await ask(60_000)).toMatchObject({ status: 'delivered' });
    expect(await ask(60_000)).toMatchObject({ error: { code: 'LIMIT_EXCEEDED', reason: 'max_pending_results_per_agent' } });
    // Fire-and-forget sends are not counted.
    expect(await sender.call('send', { to_agent_id: silent.session.agent.agent_id, content: text('fyi') })).toMatchObject({
      status: 'delivered',
    });
    await waitFor(() => sender.results.some((r) => (r.error as { code?: string } | undefined)?.code === 'TIMEOUT'), 5_000, 'the TIMEOUT');
    expect(await ask(60_000)).toMatchObject({ status: 'delivered' });
  });

  it('in-flight deliveries per recipient: past the limit a send is RATE_LIMIT with retry_after_ms, not a pile-up', async () => {
    const acks: ((response: unknown) => void)[] = [];
    const slow = await connect({ onMessage: (_message, ack) => acks.push(ack) });
    const sender = await connect();
    const send = () => sender.call('send', { to_agent_id: slow.session.agent.agent_id, content: text('work') }, 25_000);
    const first = send();
    const second = send();
    await waitFor(() => acks.length === 2, 5_000, 'two deliveries');
    expect(await send()).toEqual({
      error: {
        code: 'RATE_LIMIT',
        reason: 'max_inflight_deliveries_per_agent',
        retry_after_ms: 250,
        message: expect.stringContaining('MAX_INFLIGHT_DELIVERIES_PER_AGENT'),
        request_id: expect.any(String),
      },
    });
    for (const ack of acks) ack({ status: 'received' });
    expect(await first).toMatchObject({ status: 'delivered' });
    expect(await second).toMatchObject({ status: 'delivered' });
    const third = send();
    await waitFor(() => acks.length === 3, 5_000, 'the retried delivery');
    acks[2]?.({ status: 'received' });
    expect(await third).toMatchObject({ status: 'delivered' });
  });

  it('card size: update_card over MAX_CARD_BYTES is PAYLOAD_TOO_LARGE and the card stays as it was', async () => {
    const agent = await connect();
    expect(await agent.call('update_card', { metadata: { note: 'x'.repeat(600) } })).toMatchObject({
      error: { code: 'PAYLOAD_TOO_LARGE', reason: 'max_card_bytes', message: expect.stringContaining('MAX_CARD_BYTES') },
    });
    expect(await agent.call('update_card', { metadata: { note: 'small' } })).toMatchObject({ metadata: { note: 'small' } });
  });

  it('card size: a registration over MAX_CARD_BYTES is refused 413 by the admin API', async () => {
    const admin = adminClient(gateway);
    const tenant = await admin.tenant();
    const big = await admin.call('POST', '/admin/v1/agents', {
      agent_id: uniqueId('big'),
      tenant_id: tenant,
      metadata: { note: 'x'.repeat(600) },
    });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE', reason: 'max_card_bytes' } });
    const id = await admin.agent(tenant);
    const patch = await admin.call('PATCH', `/admin/v1/agents/${id}`, { metadata: { note: 'x'.repeat(600) } });
    expect(patch.status).toBe(413);
  });

  it('JSON nesting: every event of both transports and the HTTP APIs refuse 10 000 levels with INVALID_MESSAGE, and nothing crashes', async () => {
    const deep = deepJson(10_000);
    const receiver = await connect();
    const sender = await connect();
    const to = receiver.session.agent.agent_id;
    const textPart = '[{"type":"text","text":"x"}]';
    // Every event, the deep value where the event carries free-form JSON (or where it does not).
    const calls: [string, string][] = [
      ['send', `{"to_agent_id":"${to}","content":[{"type":"data","data":${deep}}]}`],
      ['send', `{"to_agent_id":"${to}","content":${textPart},"metadata":{"deep":${deep}}}`],
      ['publish', `{"topic":"deep/1","content":[{"type":"data","data":${deep}}]}`],
      ['update_card', `{"metadata":{"deep":${deep}}}`],
      ['result', `{"conversation_id":"c1","success":true,"result":${deep}}`],
      ['result', `{"conversation_id":"c1","success":false,"error":{"deep":${deep}}}`],
      ['heartbeat', `{"timestamp":${deep}}`],
      ['ping', `{"x":${deep}}`],
      ['subscribe', `{"topic":${deep}}`],
      ['refresh', `{"token":${deep}}`],
    ];
    for (const [event, payload] of calls) {
      expect(await rawEmit(sender, event, payload), event).toMatchObject({
        error: { code: 'INVALID_MESSAGE', message: `${event}: nested deeper than 64 levels (MAX_JSON_DEPTH)` },
      });
    }
    const ws = await connectWs(gateway.url, '', { agent_id: uniqueId('deep-ws') });
    let n = 0;
    for (const [event, payload] of calls) {
      const id = `d-${++n}`;
      ws.sendRaw(`{"type":"${event}","id":"${id}",${payload.slice(1)}`);
      expect(await ws.next((f) => f.id === id), event).toMatchObject({ type: 'error', code: 'INVALID_MESSAGE' });
    }
    ws.socket.close();
    const viaHttp = await http('POST', `${gateway.url}/gateway/send`, {
      headers: { 'x-agent-id': 'deep-http' },
      rawBody: `{"to_agent_id":"${to}","content":[{"type":"data","data":${deep}}]}`,
    });
    expect(viaHttp).toMatchObject({ status: 400, body: { error: { code: 'INVALID_MESSAGE' } } });
    const admin = adminClient(gateway);
    const tenant = await admin.tenant();
    const registration = await http('POST', `${gateway.adminUrl}/admin/v1/agents`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      rawBody: `{"agent_id":"${uniqueId('deep')}","tenant_id":"${tenant}","metadata":{"deep":${deep}}}`,
    });
    expect(registration).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_MESSAGE', message: expect.stringContaining('MAX_JSON_DEPTH') } },
    });
    // 64 levels in all (payload, content, part, 61 more) are fine, and the connection is still usable.
    expect(await sender.call('send', { to_agent_id: to, content: [{ type: 'data', data: nested(60) }] })).toMatchObject({
      status: 'delivered',
    });
    expect(gateway.output.join('\n')).not.toMatch(/unexpected failure|RangeError|Maximum call stack/);
  });
});

describe('connection limits', () => {
  it('MAX_CONNECTIONS_PER_ADDRESS: the next connect is LIMIT_EXCEEDED (socket.io and close code 4530), a slot frees on close', async () => {
    const gateway = await startGateway({ AUTH_METHODS: 'none', MAX_CONNECTIONS_PER_ADDRESS: '2' });
    try {
      const first = await connectAgent(gateway.url, { agentId: uniqueId('addr') });
      const second = await connectAgent(gateway.url, { agentId: uniqueId('addr') });
      await expect(connectAgent(gateway.url, { agentId: uniqueId('addr') })).rejects.toMatchObject({
        data: { code: 'LIMIT_EXCEEDED', reason: 'max_connections_per_address', request_id: expect.any(String) },
      });
      const ws = await openWs(gateway.url, { query: { agent_id: uniqueId('addr-ws') } });
      expect(await ws.next('error')).toMatchObject({ code: 'LIMIT_EXCEEDED', reason: 'max_connections_per_address' });
      expect((await ws.closed).code).toBe(4530);
      first.socket.close();
      await first.disconnected;
      await waitFor(
        async () => {
          try {
            (await connectAgent(gateway.url, { agentId: uniqueId('addr') })).socket.close();
            return true;
          } catch {
            return false;
          }
        },
        5_000,
        'a free slot',
      );
      second.socket.close();
    } finally {
      await gateway.stop();
    }
  });

  it('AGENT_CONNECTS_PER_MINUTE: a reconnect storm of one agent is RATE_LIMIT with retry_after_ms', async () => {
    const gateway = await startGateway({ AUTH_METHODS: 'none', AGENT_CONNECTS_PER_MINUTE: '2' });
    try {
      const agentId = uniqueId('storm');
      for (let i = 0; i < 2; i++) {
        const agent = await connectAgent(gateway.url, { agentId });
        agent.socket.close();
        await agent.disconnected;
      }
      await expect(connectAgent(gateway.url, { agentId })).rejects.toMatchObject({
        data: { code: 'RATE_LIMIT', reason: 'agent_connects_per_minute', retry_after_ms: expect.any(Number) },
      });
      // Another agent from the same address is not affected.
      (await connectAgent(gateway.url, { agentId: uniqueId('calm') })).socket.close();
    } finally {
      await gateway.stop();
    }
  });
});
