import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgent, waitFor, type TestAgent } from './support/agents.js';
import { stagedEntries } from './support/audit-queue.js';
import { TEST_REDIS_URL, uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

const text = (t: string) => [{ type: 'text', text: t }];

/**
 * Keys without a TTL that have a documented owner deleting them (docs/operations.md, "What the
 * gateway keeps in Redis"): BullMQ's audit queue, whose jobs are removed once written, and the
 * audit staging streams (each trimmed by its producer once its records are in queue jobs, deleted
 * when it stops, or written and deleted by a writer when it died) with their registry.
 */
const OWNED = [/^bull:audit:/, /^audit:lines(:\{[^}]+\}(:swept)?)?$/];

// Redis memory bounded: what a message leaves behind in Redis, and a TTL on every key.
describe('what the gateway keeps in Redis', () => {
  let gateway: GatewayProcess;
  let redis: Redis;
  const prefix = uniquePrefix();
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    gateway = await startGateway({ AUTH_METHODS: 'none', REDIS_KEY_PREFIX: prefix });
    redis = new Redis(TEST_REDIS_URL);
  });

  afterAll(async () => {
    for (const agent of agents) agent.socket.close();
    await gateway?.stop();
    await redis?.quit();
  });

  /** Every key of this gateway, without its prefix. */
  async function keys(): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch.map((k) => k.slice(prefix.length)));
    } while (cursor !== '0');
    return found;
  }

  /** Bytes Redis holds for the gateway's keys (MEMORY USAGE, every value sampled), BullMQ's apart; and how many keys, buckets apart. */
  async function bytes(): Promise<{ own: number; queue: number; ownKeys: number }> {
    let own = 0;
    let queue = 0;
    let ownKeys = 0;
    for (const key of await keys()) {
      const size = Number(await redis.call('MEMORY', 'USAGE', `${prefix}${key}`, 'SAMPLES', '0'));
      if (OWNED.some((owner) => owner.test(key))) queue += size;
      else {
        own += size;
        // Not per-message keys, whose presence depends on when the count is taken: a token bucket
        // (it lives until it would be full again, about a second here), and the singletons written
        // on a timer (the tenant's message counter, the nodes' stats).
        if (!/^(rl:|stats:messages:|node-stats$)/.test(key)) ownKeys++;
      }
    }
    return { own, queue, ownKeys };
  }

  /** Waits until the audit writer took every queued record (nothing waiting or active). */
  async function auditDrained(): Promise<void> {
    await waitFor(
      async () =>
        (await redis.llen(`${prefix}bull:audit:wait`)) === 0 &&
        (await redis.llen(`${prefix}bull:audit:active`)) === 0 &&
        (await stagedEntries(redis, prefix)) === 0,
      20_000,
      'the audit queue to drain',
    );
  }

  it('retains ≈ 0 bytes per fire-and-forget message (no conversation route, no per-message key)', async () => {
    const receiver = await connectAgent(gateway.url, { agentId: uniqueId('rx') });
    const sender = await connectAgent(gateway.url, { agentId: uniqueId('tx') });
    agents.push(receiver, sender);
    const to = receiver.session.agent.agent_id;
    const burst = async (n: number) => {
      for (let i = 0; i < n; i += 50) {
        await Promise.all(Array.from({ length: 50 }, () => sender.call('send', { to_agent_id: to, content: text('fire and forget') })));
      }
    };
    await burst(200);
    await auditDrained();
    const before = await bytes();
    const messages = 2_000;
    await burst(messages);
    await auditDrained();
    const after = await bytes();
    const perMessage = (after.own - before.own) / messages;
    // Before routes were kept only when a result can follow, this was ≈ 100 B per message, for 27 h.
    expect(perMessage).toBeLessThan(1);
    expect(after.ownKeys).toBeLessThanOrEqual(before.ownKeys);
    // The queue keeps its last 100 completed jobs, whatever the traffic.
    expect(await redis.zcard(`${prefix}bull:audit:completed`)).toBeLessThanOrEqual(100);
  });

  it('keeps a route only where a result can follow, for as long as it can: timeout_ms plus a minute, or CONVERSATION_TTL_S', async () => {
    const receiver = await connectAgent(gateway.url, { agentId: uniqueId('rx') });
    const sender = await connectAgent(gateway.url, { agentId: uniqueId('tx') });
    agents.push(receiver, sender);
    const to = receiver.session.agent.agent_id;
    const routeTtl = async (conversationId: string): Promise<number> => redis.pttl(`${prefix}conv:${to}|${conversationId}`);
    const awaited = await sender.call('send', { to_agent_id: to, content: text('q'), expect_result: true, timeout_ms: 5_000 });
    const named = await sender.call('send', { to_agent_id: to, content: text('seed-style'), conversation_id: uniqueId('conv') });
    const neither = await sender.call('send', { to_agent_id: to, content: text('fyi') });
    await waitFor(async () => (await routeTtl(String(named.conversation_id))) > 0, 2_000, 'the routes to be written');
    const awaitedTtl = await routeTtl(String(awaited.conversation_id));
    expect(awaitedTtl).toBeGreaterThan(60_000);
    expect(awaitedTtl).toBeLessThanOrEqual(65_000);
    const namedTtl = await routeTtl(String(named.conversation_id));
    expect(namedTtl).toBeGreaterThan(3_590_000);
    expect(namedTtl).toBeLessThanOrEqual(3_600_000);
    expect(await routeTtl(String(neither.conversation_id))).toBe(-2);
    // The recipient can answer the first two, not the third.
    for (const sent of [awaited, named]) {
      expect(await receiver.call('result', { conversation_id: sent.conversation_id, success: true })).toEqual({ status: 'delivered' });
    }
    expect(await receiver.call('result', { conversation_id: neither.conversation_id, success: true })).toMatchObject({
      error: { code: 'AGENT_NOT_FOUND' },
    });
  });

  it('gives every key it writes a TTL, but those of a documented owner (the audit queue)', async () => {
    const a = await connectAgent(gateway.url, { agentId: uniqueId('a') });
    const b = await connectAgent(gateway.url, { agentId: uniqueId('b') });
    agents.push(a, b);
    const b_id = b.session.agent.agent_id;
    // A bit of everything: topics, a card, results, named conversations, refusals, a failed login.
    await b.call('subscribe', { topic: 'inventory/all' });
    await a.call('publish', { topic: 'inventory/all', content: text('news') });
    await a.call('update_card', { metadata: { role: 'inventory' } });
    const asked = await a.call('send', { to_agent_id: b_id, content: text('q'), expect_result: true });
    await b.call('result', { conversation_id: asked.conversation_id, success: true, result: 1 });
    await a.call('send', { to_agent_id: b_id, content: text('x'), conversation_id: 'named-1' });
    await a.call('send', { to_agent_id: 'nobody-here', content: text('x') });
    await connectAgent(gateway.url, { agentId: uniqueId('c'), token: 'agt_not-a-real-token' }).catch(() => undefined);
    await auditDrained();
    const withoutTtl: string[] = [];
    for (const key of await keys()) {
      if (OWNED.some((owner) => owner.test(key))) continue;
      const ttl = await redis.pttl(`${prefix}${key}`);
      if (ttl === -1) withoutTtl.push(key);
    }
    expect(withoutTtl).toEqual([]);
    // And the kinds of keys are the documented ones.
    const kinds = new Set((await keys()).map((k) => k.split(':')[0]));
    for (const kind of kinds)
      expect(['presence', 'node', 'nodes', 'conv', 'topic', 'stats', 'node-stats', 'rl', 'authfail', 'bull', 'audit']).toContain(kind);
  });
});
