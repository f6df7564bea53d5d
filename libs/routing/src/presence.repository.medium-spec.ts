import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisService } from '#libs/redis';
import { uniqueId } from '../../../test/support/env.js';
import { startMediumNode, type MediumNode } from '../../../test/support/medium.js';
import { PresenceRepository, type PresenceEntry } from './presence.repository.js';
import { RoutingModule } from './routing.module.js';

// Real: PresenceRepository and its scripts inside the production RoutingModule (ProcessModule:
// the machine's Redis under a key prefix of its own, the medium Postgres database), read back with a
// plain ioredis client. Faked: nothing; the repository is called as admission calls it. The index
// commands are counted by spying on the node's command connection.
describe('presence claims of one turn of the event loop', () => {
  const prefix = `medium-presence-${process.pid}:`;
  const tenant = 'medium-presence';
  let node: MediumNode;
  let presence: PresenceRepository;
  let reader: Redis;
  let zadd: { mock: { calls: unknown[][] } };
  // ZADDs to the presence indexes (the node's membership also ZADDs, to `nodes`, on its own timer).
  const presenceZadds = (): number => zadd.mock.calls.filter((call) => String(call[0]).includes(':presence:')).length;

  const entry = (agentId: string): PresenceEntry => ({
    session_id: uniqueId('session'),
    agent_id: agentId,
    tenant_id: tenant,
    node_id: 'presence-node',
    transport: 'socket.io',
    card: { agent_id: agentId, agent_name: agentId, capabilities: [], description: null, metadata: {} },
    remote_addr: '127.0.0.1',
    connected_at: new Date().toISOString(),
    last_heartbeat: new Date().toISOString(),
    expires_at: null,
  });

  beforeAll(async () => {
    node = await startMediumNode((config) => RoutingModule.forRoot(config), {
      REDIS_KEY_PREFIX: prefix,
      NODE_ID: 'presence-node',
      AUTH_METHODS: 'none',
      NONE_TENANT_ID: tenant,
    });
    presence = node.get(PresenceRepository);
    zadd = vi.spyOn(node.get(RedisService).command, 'zadd');
    reader = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  });

  afterAll(async () => {
    const keys = await reader.keys(`${prefix}*`);
    if (keys.length > 0) await reader.del(...keys);
    reader?.disconnect();
    await node?.close();
  });

  it('share their index writes (a reconnect storm: a few index commands, not seven per agent), and every index names every agent', async () => {
    const entries = Array.from({ length: 50 }, (_, i) => entry(uniqueId(`storm-${i}`)));
    const before = presenceZadds();
    await Promise.all(entries.map((e) => presence.claim(e, 30_000)));
    // One ZADD for the global index and one for the tenant's, for all fifty claims.
    expect(presenceZadds() - before).toBe(2);
    const agents = entries.map((e) => e.agent_id).sort();
    expect((await reader.zrange(`${prefix}presence:all`, 0, -1)).filter((a) => agents.includes(a)).sort()).toEqual(agents);
    expect((await reader.zrange(`${prefix}presence:tenant:${tenant}`, 0, -1)).sort()).toEqual(agents);
    expect((await reader.smembers(`${prefix}presence:node:presence-node`)).filter((a) => agents.includes(a)).sort()).toEqual(agents);
    for (const e of entries) expect(await reader.get(`${prefix}presence:session:${e.session_id}`)).toBe(e.agent_id);
    for (const key of [`${prefix}presence:all`, `${prefix}presence:tenant:${tenant}`, `${prefix}presence:node:presence-node`]) {
      expect(await reader.pttl(key)).toBeGreaterThan(0);
    }
    // The directory reads them back: every agent, through the indexes.
    const listed = await Promise.all(entries.map((e) => presence.get(e.agent_id)));
    expect(listed.map((e) => e?.session_id)).toEqual(entries.map((e) => e.session_id));
  });

  it('a claim of a later turn is indexed in a batch of its own, and one that replaces a session drops the old session key', async () => {
    const agentId = uniqueId('later');
    const first = entry(agentId);
    await presence.claim(first, 30_000);
    const before = presenceZadds();
    const second = { ...entry(agentId), session_id: uniqueId('session') };
    const previous = await presence.claim(second, 30_000);
    expect(previous?.session_id).toBe(first.session_id);
    expect(presenceZadds() - before).toBe(2);
    expect(await reader.get(`${prefix}presence:session:${first.session_id}`)).toBeNull();
    expect(await reader.get(`${prefix}presence:session:${second.session_id}`)).toBe(agentId);
  });
});
