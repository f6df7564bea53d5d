import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueId } from '../../../test/support/env.js';
import { connectFake, startMediumNode, type MediumAgent, type MediumNode } from '../../../test/support/medium.js';
import { startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';
import { RoutingModule } from './routing.module.js';
import { PresenceSweep } from './sessions/presence-sweep.js';

// Real: the routing use cases as the production RoutingModule wires them, presence on a private
// redis-server, the medium Postgres database; HEARTBEAT_TIMEOUT_S=60 (the default: entries live
// 60 s, the sweep runs every 5 s and rewrites an entry after 15 s). Faked: the transports
// (FakeConnections). The test calls the sweep itself and reads the entries' TTLs in Redis: a
// rewritten entry has its whole TTL again, one left alone has less.
describe('the presence sweep rewrites only the entries that need it', () => {
  const prefix = 'medium-sweep:';
  const ttlMs = 60_000;
  let redis: TestRedis;
  let client: Redis;
  let node: MediumNode;
  let sweep: PresenceSweep;
  let agents: MediumAgent[];

  const entryTtl = (agent: MediumAgent): Promise<number> => client.pttl(`${prefix}presence:agent:${agent.session.agentId}`);
  const entry = async (agent: MediumAgent): Promise<{ last_heartbeat: string }> =>
    JSON.parse((await client.get(`${prefix}presence:agent:${agent.session.agentId}`))!) as { last_heartbeat: string };
  // Rewritten by the last sweep: at most a few hundred ms of its TTL gone (the TTLs are read after a 400 ms pause).
  const rewritten = async (agent: MediumAgent): Promise<boolean> => (await entryTtl(agent)) > ttlMs - 300;

  beforeAll(async () => {
    redis = await startTestRedis();
    client = new Redis(redis.url);
    node = await startMediumNode((config) => RoutingModule.forRoot(config), {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      NODE_ID: 'sweep-1',
      AUTH_METHODS: 'none',
      HEARTBEAT_TIMEOUT_S: '60',
      RATE_LIMIT_DEFAULTS: '{"connects_per_minute_per_ip":100000}',
    });
    sweep = node.get(PresenceSweep);
    // More sessions than one refresh round trip takes (200), so a full rewrite spans several.
    agents = [];
    for (let i = 0; i < 450; i += 50)
      agents.push(...(await Promise.all(Array.from({ length: 50 }, () => connectFake(node, uniqueId('swept'))))));
  });

  afterAll(async () => {
    client?.disconnect();
    await node?.close();
    await redis?.destroy();
  });

  it('leaves a fresh, unchanged entry alone; rewrites one whose heartbeat changed or whose TTL ran a quarter down', async () => {
    const [beat, aged, quiet] = [agents[0]!, agents[1]!, agents[2]!];
    const claimedHeartbeat = (await entry(beat)).last_heartbeat;
    await new Promise((r) => setTimeout(r, 400));
    await beat.call('heartbeat');
    // Written 15 s ago as far as the node knows.
    aged.session.presenceWrittenAt -= ttlMs / 4;
    await sweep.sweep();

    expect(await rewritten(beat)).toBe(true);
    expect((await entry(beat)).last_heartbeat).toBe(beat.session.lastHeartbeatAt.toISOString());
    expect((await entry(beat)).last_heartbeat).not.toBe(claimedHeartbeat);
    expect(await rewritten(aged)).toBe(true);
    expect(await rewritten(quiet)).toBe(false);
    // Unchanged since: the next sweep leaves all three alone.
    await new Promise((r) => setTimeout(r, 400));
    await sweep.sweep();
    for (const agent of [beat, aged, quiet]) expect(await rewritten(agent)).toBe(false);
  });

  it('rewrites every entry when asked to (a rejoin), across several round trips', async () => {
    await new Promise((r) => setTimeout(r, 400));
    await sweep.sweep(true);
    const ttls = await Promise.all(agents.map(entryTtl));
    expect(ttls.filter((ttl) => ttl <= ttlMs - 300)).toEqual([]);
  });

  // The rejoin itself (ClusterMembership calling sweep(true)) is what test/presence.e2e-spec.ts's SIGSTOP case sees.
  it('writes again an entry that Redis lost on a full rewrite (what a rejoin asks for), not on a plain sweep', async () => {
    const lost = agents[3]!;
    await client.del(`${prefix}presence:agent:${lost.session.agentId}`);
    await sweep.sweep();
    expect(await entryTtl(lost)).toBe(-2);
    await sweep.sweep(true);
    expect(await rewritten(lost)).toBe(true);
  });
});
