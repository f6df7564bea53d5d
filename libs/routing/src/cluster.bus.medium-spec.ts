import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '#libs/protocol';
import { waitFor } from '../../../test/support/agents.js';
import { uniqueId } from '../../../test/support/env.js';
import { capturedLogs, connectFake, startMediumNode, type MediumNode } from '../../../test/support/medium.js';
import { startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';
import { ClusterBus } from './cluster.bus.js';
import { DirectoryService } from './directory.service.js';
import { PresenceRepository } from './presence.repository.js';
import { RoutingModule } from './routing.module.js';

// Real: routing "nodes" (the production RoutingModule inside ProcessModule) on one private
// redis-server under one key prefix: the ClusterBus over Redis pub/sub, ClusterMembership with
// NODE_TIMEOUT_S=2 (its refresh and reaping timers), presence, the dispatcher and its guards, the
// policy from the medium Postgres database. Faked: agents' connections (FakeConnection), and a node
// that receives but never answers: a bare Redis subscriber on its channel (what a frozen process's
// connection looks like to Redis). Authentication is `none`.
describe('ClusterBus time-outs and the node-gone path', () => {
  const logs = capturedLogs();
  let redis: TestRedis;
  const extra: Redis[] = [];
  const nodes: MediumNode[] = [];
  const prefix = 'medium-bus:';
  const env = (nodeId: string) => ({
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
    NODE_ID: nodeId,
    AUTH_METHODS: 'none',
    NONE_TENANT_ID: 'medium-bus',
    NODE_TIMEOUT_S: '2',
    DELIVERY_TIMEOUT_MS: '100',
  });
  const start = async (nodeId: string) => {
    const node = await startMediumNode((config) => RoutingModule.forRoot(config), env(nodeId));
    nodes.push(node);
    return node;
  };
  /** A connection subscribed to `nodeId`'s channel that never answers; resolves with what it receives. */
  const silentNode = async (nodeId: string): Promise<unknown[]> => {
    const subscriber = new Redis(redis.url);
    extra.push(subscriber);
    const received: unknown[] = [];
    subscriber.on('message', (_channel: string, raw: string) => received.push(JSON.parse(raw)));
    await subscriber.subscribe(`${prefix}bus:node:${nodeId}`);
    return received;
  };
  const pendingOf = (bus: ClusterBus) => (bus as unknown as { pending: Map<string, unknown> }).pending.size;
  const resultRequest = {
    op: 'result' as const,
    tenant_id: 'medium-bus',
    to_agent_id: 'someone',
    result: { conversation_id: 'c', from_agent_id: 'x', success: true, metadata: {} },
  };
  const failure = async (promise: Promise<unknown>): Promise<{ error: GatewayError; ms: number }> => {
    const started = Date.now();
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    if (!(error instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(error)}`);
    return { error, ms: Date.now() - started };
  };

  let one: MediumNode;

  beforeAll(async () => {
    redis = await startTestRedis();
    one = await start('bus-1');
  });

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.close()));
    for (const connection of extra) connection.disconnect();
    await redis?.destroy();
  });

  it('times out a request to a node that never replies with TIMEOUT, and forgets it', async () => {
    const bus = one.get(ClusterBus);
    const received = await silentNode('frozen');
    const { error, ms } = await failure(bus.request('frozen', resultRequest, 300));
    expect(error.code).toBe('TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(2_000);
    // It was a real time-out: the request reached the frozen node, which said nothing.
    expect(received).toMatchObject([{ kind: 'request', reply_to: 'bus-1', body: resultRequest }]);
    expect(pendingOf(bus)).toBe(0);
  });

  it('answers AGENT_NOT_FOUND at once for a node nobody listens for, and forgets the request', async () => {
    const bus = one.get(ClusterBus);
    const { error, ms } = await failure(bus.request('gone-node', resultRequest, 10_000));
    expect(error.code).toBe('AGENT_NOT_FOUND');
    expect(ms).toBeLessThan(1_000);
    expect(pendingOf(bus)).toBe(0);
  });

  it('reaps the agents of a node whose liveness expired (NODE_TIMEOUT_S); a send to them answers AGENT_NOT_FOUND without the delivery time-out', async () => {
    const two = await start('bus-2');
    const [a, b] = [uniqueId('sender'), uniqueId('on-two')];
    const sender = await connectFake(one, a);
    await connectFake(two, b);
    const text = [{ type: 'text', text: 'hello?' }];
    expect(await sender.call('send', { to_agent_id: b, content: text })).toMatchObject({ status: 'delivered' });

    const stale = await one.get(PresenceRepository).get(b);
    if (stale?.node_id !== 'bus-2') throw new Error(`${b} should be present on bus-2: ${JSON.stringify(stale)}`);

    // Node 2 freezes: its timers stop (no more liveness refreshes), but Redis still counts a
    // subscriber on its channel, so a publish to it reports a receiver.
    await silentNode('bus-2');
    await two.close();

    // While its liveness entry lasts, a send waits for the cluster time-out (delivery + 2 s margin).
    const frozen = await failure(sender.call('send', { to_agent_id: b, content: text }));
    expect(frozen.error.code).toBe('TIMEOUT');
    expect(frozen.ms).toBeGreaterThanOrEqual(2_000);
    expect(pendingOf(one.get(ClusterBus))).toBe(0);

    // Within NODE_TIMEOUT_S (2 s) of its last refresh, node 1 finds it dead and removes its agents.
    await waitFor(
      () => logs.some((l) => l.context === 'ClusterMembership' && l.message.startsWith('node bus-2 stopped refreshing for 2 s: 1 of')),
      5_000,
      'node 1 to reap node 2',
    );
    expect(await one.get(PresenceRepository).get(b)).toBeNull();
    expect((await one.get(DirectoryService).list('medium-bus')).agents.map((x) => x.agent_id)).not.toContain(b);
    const gone = await failure(sender.call('send', { to_agent_id: b, content: text }));
    expect(gone.error.code).toBe('AGENT_NOT_FOUND');
    expect(gone.ms).toBeLessThan(500);

    // An entry of the dead node that the reaper did not see (written back here) is no target
    // either: its node is not live, so the send does not wait on the frozen node's channel.
    const presence = one.get(PresenceRepository);
    await presence.claim({ ...stale, last_heartbeat: new Date().toISOString() }, 60_000);
    expect(await presence.get(b)).toMatchObject({ node_id: 'bus-2' });
    const stalePath = await failure(sender.call('send', { to_agent_id: b, content: text }));
    expect(stalePath.error.code).toBe('AGENT_NOT_FOUND');
    expect(stalePath.ms).toBeLessThan(500);
    sender.disconnect();
  });
});
