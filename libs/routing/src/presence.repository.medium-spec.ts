import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { RedisService } from '#libs/redis';
import { uniqueId } from '../../../test/support/env.js';
import { startMediumNode, type MediumNode } from '../../../test/support/medium.js';
import { PresenceRepository, type PresenceEntry } from './presence.repository.js';
import { RoutingModule } from './routing.module.js';

// Real: PresenceRepository and its scripts inside the production RoutingModule (ProcessModule:
// the machine's Redis under a key prefix of its own, the medium Postgres database), read back with a
// plain ioredis client. Faked: nothing; the repository is called as admission calls it. The index
// commands are counted by spying on the node's command connection.
describe('presence claims made together', () => {
  const prefix = `medium-presence-${process.pid}:`;
  const tenant = 'medium-presence';
  let node: MediumNode;
  let presence: PresenceRepository;
  let reader: Redis;
  let zadd: MockInstance<(...args: unknown[]) => Promise<unknown>>;
  let realZadd: (...args: unknown[]) => Promise<unknown>;
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
    const command = node.get(RedisService).command as unknown as { zadd: (...args: unknown[]) => Promise<unknown> };
    realZadd = command.zadd.bind(command);
    zadd = vi.spyOn(command, 'zadd');
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

  /** Makes the next ZADD to a presence index go through `instead` (the others go to Redis). */
  const interceptNextPresenceZadd = (instead: (zaddArgs: unknown[]) => Promise<unknown>): void => {
    let used = false;
    zadd.mockImplementation((...args: unknown[]) => {
      if (used || !String(args[0]).includes(':presence:')) return realZadd(...args);
      used = true;
      return instead(args);
    });
  };

  it('claims made while a batch is being written join one next batch, whatever turn they come in', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    interceptNextPresenceZadd(async (args) => {
      await held;
      return realZadd(...args);
    });
    const before = presenceZadds();
    const first = presence.claim(entry(uniqueId('held')), 30_000);
    await vi.waitFor(() => expect(presenceZadds() - before).toBe(2));
    // Five claims, each in a turn of its own, while the first batch's writes wait.
    const later = Array.from({ length: 5 }, () => entry(uniqueId('during')));
    const claims: Promise<unknown>[] = [];
    for (const e of later) {
      claims.push(presence.claim(e, 30_000));
      await sleep(20);
    }
    release();
    await Promise.all([first, ...claims]);
    // Two ZADDs (global and tenant index) for the first batch, two for the five later claims.
    expect(presenceZadds() - before).toBe(4);
    const all = await reader.zrange(`${prefix}presence:all`, 0, -1);
    for (const e of later) expect(all).toContain(e.agent_id);
  });

  it('a batch whose writes failed does not hold up the next one', async () => {
    interceptNextPresenceZadd(async () => {
      await sleep(50);
      throw new Error('injected ZADD failure');
    });
    const before = presenceZadds();
    const failing = presence.claim(entry(uniqueId('failing')), 30_000);
    failing.catch(() => undefined);
    await vi.waitFor(() => expect(presenceZadds() - before).toBe(2));
    // Made while the failing batch is in flight: its batch waits for that one, then is written.
    const next = entry(uniqueId('next'));
    const claimed = presence.claim(next, 30_000);
    await expect(failing).rejects.toThrow('injected ZADD failure');
    await claimed;
    expect(await reader.zscore(`${prefix}presence:all`, next.agent_id)).not.toBeNull();
  });
});
