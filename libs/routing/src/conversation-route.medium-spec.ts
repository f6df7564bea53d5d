import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/agents.js';
import { uniqueId } from '../../../test/support/env.js';
import { FakeConnection } from '../../../test/support/fake-connection.js';
import { connectFake, startMediumNode, type MediumNode } from '../../../test/support/medium.js';
import { startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';
import { RoutingModule } from './routing.module.js';
import { RoutingService } from './routing.service.js';

// Real: two routing "nodes" (the production RoutingModule inside ProcessModule, NODE_ID node-1 and
// node-2) sharing one private redis-server under one key prefix: presence, the conversation routes
// (`conv:` keys), the cluster bus between the nodes, the dispatcher with its guards, the policy read
// from the medium Postgres database, the audit producer. Faked: the agents' connections
// (FakeConnection, the AgentConnection port with no socket); authentication is `none`.
describe('conversation routes across nodes', () => {
  let redis: TestRedis;
  let inspect: Redis;
  let one: MediumNode;
  let two: MediumNode;
  const prefix = 'medium-conv:';

  beforeAll(async () => {
    redis = await startTestRedis();
    inspect = new Redis(redis.url);
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, AUTH_METHODS: 'none', NONE_TENANT_ID: 'medium-conv' };
    [one, two] = await Promise.all([
      startMediumNode((config) => RoutingModule.forRoot(config), { ...env, NODE_ID: 'node-1' }),
      startMediumNode((config) => RoutingModule.forRoot(config), { ...env, NODE_ID: 'node-2' }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([one?.close(), two?.close()]);
    inspect?.disconnect();
    await redis?.destroy();
  });

  const text = (t: string) => [{ type: 'text', text: t }];
  const routeKey = (recipient: string, conversation: string) => `${prefix}conv:${recipient}|${conversation}`;

  it('routes a result to the sender on node 1 after the recipient reconnected to node 2', async () => {
    const [a, b] = [uniqueId('sender'), uniqueId('recipient')];
    const sender = await connectFake(one, a);
    const first = await connectFake(one, b);
    const sent = await sender.call('send', { to_agent_id: b, content: text('question'), expect_result: true, timeout_ms: 20_000 });
    expect(sent).toMatchObject({ status: 'delivered' });
    const conversation = String(sent.conversation_id);
    expect(first.connection.messages).toMatchObject([{ from_agent_id: a, conversation_id: conversation, expect_result: true }]);

    // The route is in Redis (written within one 50 ms flush), for timeout_ms plus the minute of
    // grace for late results.
    const key = routeKey(b, conversation);
    await waitFor(async () => (await inspect.get(key)) === a, 2_000, 'the conversation route in Redis');
    const ttl = await inspect.pttl(key);
    expect(ttl).toBeGreaterThan(20_000 + 60_000 - 5_000);
    expect(ttl).toBeLessThanOrEqual(20_000 + 60_000);

    // B leaves node 1 and comes back on node 2, which never saw the message.
    first.disconnect();
    const second = await connectFake(two, b);
    expect(second.connection.session?.node_id).toBe('node-2');
    expect(await second.call('result', { conversation_id: conversation, success: true, result: 'answer' })).toEqual({
      status: 'delivered',
    });

    await waitFor(() => sender.connection.results.length === 1, 2_000, 'the result on node 1');
    expect(sender.connection.results).toEqual([
      { conversation_id: conversation, from_agent_id: b, success: true, result: 'answer', metadata: {} },
    ]);
    // The result cleared the sender's TIMEOUT timer on node 1: no TIMEOUT result will follow.
    expect(one.get(RoutingService).pendingResults(a)).toBe(0);
    sender.disconnect();
    second.disconnect();
  });

  it('keeps no route for a fire-and-forget send, and one of CONVERSATION_TTL_S when the sender names the conversation', async () => {
    const [a, b] = [uniqueId('sender'), uniqueId('recipient')];
    const sender = await connectFake(one, a);
    const recipient = await connectFake(one, b, new FakeConnection({ transport: 'websocket' }));
    expect(await sender.call('send', { to_agent_id: b, content: text('fire and forget') })).toMatchObject({ status: 'delivered' });
    const anonymous = String(recipient.connection.messages[0]?.conversation_id);
    const named = uniqueId('named');
    expect(await sender.call('send', { to_agent_id: b, conversation_id: named, content: text('named') })).toMatchObject({
      status: 'delivered',
    });
    // The barrier: a later send on the same path that keeps a route. Routes are written in the
    // order they were learnt (one pipeline every 50 ms), so once this one is in Redis, a route of
    // the fire-and-forget send would be there too.
    const expected = uniqueId('expected');
    expect(
      await sender.call('send', { to_agent_id: b, conversation_id: expected, content: text('q'), expect_result: true, timeout_ms: 1_000 }),
    ).toMatchObject({ status: 'delivered' });
    await waitFor(async () => (await inspect.exists(routeKey(b, expected))) === 1, 2_000, 'the later route in Redis');

    expect((await inspect.keys(`${prefix}conv:${b}|*`)).sort()).toEqual([routeKey(b, expected), routeKey(b, named)].sort());
    expect(await inspect.exists(routeKey(b, anonymous))).toBe(0);
    const namedTtl = await inspect.pttl(routeKey(b, named));
    expect(namedTtl).toBeGreaterThan(3_600_000 - 5_000);
    expect(namedTtl).toBeLessThanOrEqual(3_600_000);
    // Nor does the node keep one in memory: a result for it has nowhere to go.
    await expect(recipient.call('result', { conversation_id: anonymous, success: true })).rejects.toMatchObject({
      code: 'AGENT_NOT_FOUND',
    });
    sender.disconnect();
    recipient.disconnect();
  });
});
