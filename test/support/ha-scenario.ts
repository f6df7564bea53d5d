import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminClient, type AdminClient } from './admin.js';
import { connectAgent, http, waitFor, type TestAgent } from './agents.js';
import { TEST_DATABASE_URL, uniqueId, uniquePrefix } from './env.js';
import { startGateway, type GatewayProcess } from './gateway-process.js';

/** What a topology test gives the shared scenario. */
export interface HaTopology {
  /** The Redis variables of every gateway (`REDIS_URL`, `REDIS_CLUSTER_NODES`). */
  env: Record<string, string>;
  /**
   * SIGKILLs the master that holds what the burst needs (on a cluster: the shard of the receiving
   * node's channel and of the audit queue); resolves once it is dead, with the time of the kill.
   */
  killMaster(): Promise<number>;
  /** Resolves once the topology serves every key again (a replica was promoted). */
  promoted(): Promise<void>;
  /** A line for the test log: where the master was, where it is now. */
  describe(): Promise<string>;
  /** The node id of the gateway the burst's receivers connect to (the cluster suite picks one on the master it kills). */
  receiverNodeId(prefix: string): Promise<string>;
  /** Checks of the topology itself once the scenario ran (the cluster suite: node channels are sharded). */
  afterwards?(nodeIds: string[]): Promise<void>;
}

const text = (t: string) => [{ type: 'text', text: t }];
/** The codes a send may fail with while a failover is under way (contract.md). */
const FAILOVER_CODES = ['UNAVAILABLE', 'TIMEOUT'];

/**
 * The scenario both topology suites run: three gateway nodes on the topology route direct messages
 * and results, publish to topics, share rate limits and revoke sessions across nodes; then the
 * Redis master is killed mid-burst, and the burst must ride it out.
 */
export function haScenario(name: string, setup: (prefix: string) => Promise<HaTopology>): void {
  let topology: HaTopology;
  const gateways: GatewayProcess[] = [];
  const agents: TestAgent[] = [];
  let admin: AdminClient;
  let tenant: string;
  const db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  const prefix = uniquePrefix();

  const tenantOf = new Map<string, string>();
  const agent = async (node: number, tenantId = tenant): Promise<{ agent: TestAgent; token: string; tokenId: string }> => {
    const id = await admin.agent(tenantId);
    tenantOf.set(id, tenantId);
    const { token, token_id } = await admin.token(id);
    const connected = await connectAgent(gateways[node]!.url, { agentId: id, token });
    agents.push(connected);
    return { agent: connected, token, tokenId: token_id };
  };

  beforeAll(async () => {
    topology = await setup(prefix);
    const env = { ...topology.env, REDIS_KEY_PREFIX: prefix, AUTH_METHODS: 'token' };
    // The first one alone: it may create and migrate the test database, which the others then find.
    gateways.push(await startGateway({ ...env, NODE_ID: uniqueId(`${name}-one`) }));
    const receiverNodeId = await topology.receiverNodeId(prefix);
    gateways.push(
      ...(await Promise.all([
        startGateway({ ...env, NODE_ID: receiverNodeId }),
        startGateway({ ...env, NODE_ID: uniqueId(`${name}-three`) }),
      ])),
    );
    admin = adminClient(gateways[0]!);
    tenant = await admin.tenant();
  }, 90_000);

  afterAll(async () => {
    for (const a of agents) a.socket.close();
    await Promise.all(gateways.map((g) => g.stop()));
    await db.end();
  });

  it('routes direct messages and their results between agents on three nodes', async () => {
    const [a, b, c] = [await agent(0), await agent(1), await agent(2)];
    for (const [from, to] of [
      [a, b],
      [b, c],
      [c, a],
    ] as const) {
      const sent = await from.agent.call('send', {
        to_agent_id: to.agent.session.agent.agent_id,
        content: text('hi'),
        expect_result: true,
      });
      expect(sent).toMatchObject({ status: 'delivered' });
      expect(await to.agent.call('result', { conversation_id: sent.conversation_id, success: true, result: 'back' })).toEqual({
        status: 'delivered',
      });
      await waitFor(() => from.agent.results.length === 1, 3_000, 'the result');
    }
    expect(new Set([a, b, c].map((x) => x.agent.session.node_id)).size).toBe(3);
  });

  it('publishes a topic to its subscribers on every node', async () => {
    const subscribers = [await agent(0), await agent(1), await agent(2)];
    const heard = subscribers.map(() => [] as unknown[]);
    subscribers.forEach((s, i) => s.agent.socket.on('topic_message', (m: unknown) => heard[i]!.push(m)));
    for (const s of subscribers) expect(await s.agent.call('subscribe', { topic: 'ha/news' })).toMatchObject({ status: 'subscribed' });
    const publisher = await agent(1);
    expect(await publisher.agent.call('publish', { topic: 'ha/news', content: text('to all') })).toMatchObject({ recipients: 3 });
    await waitFor(() => heard.every((h) => h.length === 1), 3_000, 'the topic message on every node');
  });

  it('enforces a tenant rate limit shared by the three nodes', async () => {
    const limited = await admin.tenant();
    const burst = 9;
    // The tenant's aggregate: one bucket for its agents on every node, beside each agent's own
    // (slow enough that a node takes one token per trip: no lease holds tokens back).
    const put = await admin.call('PUT', '/admin/v1/rate-limits', {
      tenants: { [limited]: { messages_per_second: 1, burst: 100, tenant_messages_per_second: 0.01, tenant_burst: burst } },
    });
    expect(put.status).toBe(200);
    const receiver = await agent(0, limited);
    const senders = [await agent(0, limited), await agent(1, limited), await agent(2, limited)];
    // Every node has the new document (it is announced over the bus) before the burst.
    await new Promise((r) => setTimeout(r, 500));
    const acks = await Promise.all(
      senders.flatMap((s) =>
        Array.from({ length: 6 }, () => s.agent.call('send', { to_agent_id: receiver.agent.session.agent.agent_id, content: text('x') })),
      ),
    );
    const delivered = acks.filter((a) => a.status === 'delivered').length;
    expect(delivered).toBe(burst);
    expect(acks.filter((a) => (a.error as { code?: string } | undefined)?.code === 'RATE_LIMIT')).toHaveLength(18 - burst);
  });

  it('revokes a session on another node within a second', async () => {
    const victim = await agent(2);
    const closed = new Promise<number>((resolve) => victim.agent.socket.once('session_closed', () => resolve(Date.now())));
    const started = Date.now();
    expect((await admin.call('DELETE', `/admin/v1/tokens/${victim.tokenId}`)).status).toBe(204);
    expect((await closed) - started).toBeLessThan(1_000);
    expect(victim.agent.closed).toEqual([{ reason: 'revoked', message: expect.any(String), reconnect: false }]);
  });

  it('rides out the master failover mid-burst: acknowledged sends audited exactly once, the directory right afterwards', async () => {
    const receivers = [await agent(1), await agent(1)];
    const senders = [await agent(0), await agent(2)];
    const delivered: string[] = [];
    const failed: { code: string; at: number }[] = [];
    let killedAt = 0;
    let firstAfter = 0;
    let stop = false;
    let afterKill = 0;
    const loop = async (from: (typeof senders)[number], to: (typeof receivers)[number]): Promise<void> => {
      while (!stop) {
        const startedAt = Date.now();
        const ack = await from.agent
          .call('send', { to_agent_id: to.agent.session.agent.agent_id, content: text('burst') }, 15_000)
          .catch((error: Error): Record<string, unknown> => ({ error: { code: `no ack: ${error.message}` } }));
        if (ack.status === 'delivered') {
          delivered.push(String(ack.message_id));
          if (killedAt > 0 && startedAt >= killedAt) {
            firstAfter ||= Date.now();
            afterKill++;
          }
        } else {
          failed.push({ code: String((ack.error as { code?: string }).code), at: Date.now() });
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const running = senders.flatMap((s) => receivers.map((r) => loop(s, r)));
    await waitFor(() => delivered.length >= 200, 10_000, 'the burst to get going');
    const before = await topology.describe();
    killedAt = await topology.killMaster();
    await waitFor(() => afterKill >= 200, 45_000, 'sends to succeed again after the master was killed');
    stop = true;
    await Promise.all(running);
    await topology.promoted();
    const after = await topology.describe();
    // The kill did move the master: this is a failover, not a blip.
    expect(after).not.toBe(before);
    const failoverMs = firstAfter - killedAt;
    console.log(
      `[${name}] failover: first routed send ${failoverMs} ms after the master was killed; ${delivered.length} delivered, ` +
        `${failed.length} refused (${[...new Set(failed.map((f) => f.code))].join(', ') || 'none'}); ${before} → ${after}`,
    );
    // Refusals say what happened, in the contract's codes.
    for (const f of failed) expect(FAILOVER_CODES).toContain(f.code);
    expect(failoverMs).toBeGreaterThanOrEqual(0);

    // Every acknowledged send has its message.routed record, exactly once.
    const counts = async (): Promise<Map<string, number>> => {
      const rows = await db.query<{ id: string; n: string }>(
        "SELECT details->>'message_id' AS id, count(*) AS n FROM audit_records WHERE tenant_id = $1 AND action = 'message.routed' AND details ? 'message_id' GROUP BY 1",
        [tenant],
      );
      return new Map(rows.rows.map((r) => [r.id, Number(r.n)]));
    };
    let seen = new Map<string, number>();
    await waitFor(
      async () => {
        seen = await counts();
        return delivered.every((id) => seen.has(id));
      },
      30_000,
      'every acknowledged send audited',
    ).catch(() => undefined);
    const missing = delivered.filter((id) => !seen.has(id));
    expect(missing, `${missing.length} acknowledged sends without a message.routed record`).toEqual([]);
    expect([...seen.values()].filter((n) => n > 1)).toEqual([]);

    // The directory, from every node, lists exactly the agents still connected.
    const connected = agents.filter((a) => a.socket.connected && a.closed.length === 0).map((a) => a.session.agent.agent_id);
    const token = senders[0]!.token;
    for (const gateway of gateways) {
      const { body } = await http('GET', `${gateway.url}/gateway/agents`, { headers: { authorization: `Bearer ${token}` } });
      // An error body (a rare failure right after a cluster failover) fails here, showing it and
      // what the node logged last.
      if (!('agents' in body))
        expect.fail(`the directory from ${gateway.nodeId}: ${JSON.stringify(body)}\n${gateway.output.slice(-15).join('\n')}`);
      const ids = (body.agents as { agent_id: string }[]).map((x) => x.agent_id).sort();
      expect(ids).toEqual(connected.filter((id) => tenantOf.get(id) === tenant).sort());
    }
    await topology.afterwards?.(gateways.map((g) => g.nodeId));
    // And routing works in every direction again.
    for (const s of senders) {
      for (const r of receivers) {
        expect(await s.agent.call('send', { to_agent_id: r.agent.session.agent.agent_id, content: text('after') })).toMatchObject({
          status: 'delivered',
        });
      }
    }
  }, 90_000);
}
