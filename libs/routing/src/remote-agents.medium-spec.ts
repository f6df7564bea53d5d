import { Module } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/agents.js';
import { uniqueId } from '../../../test/support/env.js';
import { connectFake, startMediumNode, type MediumNode } from '../../../test/support/medium.js';
import { startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';
import { GatewayError, type MessageEvent, type ResultEvent } from '#libs/protocol';
import { AgentCommandDispatcher } from './agent-command.dispatcher.js';
import { REMOTE_AGENTS, type RemoteAgent, type RemoteAgents } from './remote-agents.js';
import { RoutingModule } from './routing.module.js';
import type { Caller } from './session.js';

/** A RemoteAgents that records what it is given and answers when the test says so. */
class FakeRemotes implements RemoteAgents {
  readonly agents = new Map<string, RemoteAgent>();
  readonly deliveries: { message: MessageEvent; reply: (result: ResultEvent) => Promise<boolean> }[] = [];
  refuse: GatewayError | null = null;

  find(agentId: string): Promise<RemoteAgent | null> {
    return Promise.resolve(this.agents.get(agentId) ?? null);
  }

  list(tenantId: string): Promise<RemoteAgent[]> {
    return Promise.resolve([...this.agents.values()].filter((a) => a.tenantId === tenantId));
  }

  deliver(message: MessageEvent, _target: RemoteAgent, reply: (result: ResultEvent) => Promise<boolean>): Promise<void> {
    if (this.refuse) return Promise.reject(this.refuse);
    this.deliveries.push({ message, reply });
    return Promise.resolve();
  }
}

const remotes = new FakeRemotes();

@Module({ providers: [{ provide: REMOTE_AGENTS, useValue: remotes }], exports: [REMOTE_AGENTS] })
class FakeRemotesModule {}

// Real: one routing node (the production RoutingModule inside ProcessModule) on a private
// redis-server and the medium Postgres: resolution, the dispatcher and its guards (policy, rate
// limit), expectations and waiters, audit producer. Faked: the agents' connections
// (FakeConnection), and the remote agents behind the REMOTE_AGENTS seam (FakeRemotes: what
// libs/a2a's outbound module provides in production). Authentication is `none`.
describe('RoutingService with remote agents (the REMOTE_AGENTS seam)', () => {
  let redis: TestRedis;
  let node: MediumNode;
  const tenant = 'medium-remote';

  beforeAll(async () => {
    redis = await startTestRedis();
    node = await startMediumNode((config) => RoutingModule.forRoot(config, FakeRemotesModule), {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'medium-remote:',
      AUTH_METHODS: 'none',
      NONE_TENANT_ID: tenant,
    });
  });

  afterAll(async () => {
    await node?.close();
    await redis?.destroy();
  });

  const remote = (tenantId = tenant): string => {
    const id = uniqueId('remote');
    remotes.agents.set(id, { tenantId, agentId: id, agentName: id, capabilities: ['echo'], description: null, metadata: {} });
    return id;
  };
  const text = (t: string) => [{ type: 'text' as const, text: t }];
  const lastDelivery = () => remotes.deliveries.at(-1)!;

  it("hands a session sender's send to the remote and routes its reply as the conversation's result, once", async () => {
    const target = remote();
    const sender = await connectFake(node, uniqueId('sender'));
    const ack = await sender.call('send', { to_agent_id: target, content: text('hi'), expect_result: true, timeout_ms: 10_000 });
    expect(ack).toMatchObject({ status: 'delivered' });
    const { message, reply } = lastDelivery();
    expect(message).toMatchObject({ to_agent_id: target, expect_result: true, conversation_id: ack.conversation_id });
    expect(message.result_deadline).toEqual(expect.any(String));
    const result: ResultEvent = {
      conversation_id: message.conversation_id,
      from_agent_id: target,
      success: true,
      result: 'ok',
      metadata: {},
    };
    expect(await reply(result)).toBe(true);
    expect(sender.connection.results).toEqual([result]);
    // The wait is over: a second reply is not routed.
    expect(await reply(result)).toBe(false);
    expect(sender.connection.results).toHaveLength(1);
  });

  it('gives a remote that does not reply in time the TIMEOUT result, and drops its late reply', async () => {
    const target = remote();
    const sender = await connectFake(node, uniqueId('sender'));
    const ack = await sender.call('send', { to_agent_id: target, content: text('slow'), expect_result: true, timeout_ms: 200 });
    await waitFor(() => sender.connection.results.length === 1, 5_000, 'the TIMEOUT result');
    expect(sender.connection.results[0]).toMatchObject({
      conversation_id: ack.conversation_id,
      success: false,
      error: { code: 'TIMEOUT' },
    });
    const late = { conversation_id: String(ack.conversation_id), from_agent_id: target, success: true, metadata: {} };
    expect(await lastDelivery().reply(late)).toBe(false);
    expect(sender.connection.results).toHaveLength(1);
  });

  it("settles a sessionless caller's waiter (A2A, MCP) with the remote's reply", async () => {
    const target = remote();
    const agent = await connectFake(node, uniqueId('caller'));
    const caller: Caller = { ...agent.session.caller, session: null, protocol: { name: 'a2a', details: {} } };
    const conversation = uniqueId('task');
    const { ack, result } = await node
      .get(AgentCommandDispatcher)
      .request(caller, { to_agent_id: target, conversation_id: conversation, content: text('hi'), timeout_ms: 10_000 }, 64);
    expect(ack).toMatchObject({ status: 'delivered', conversation_id: conversation });
    const reply: ResultEvent = { conversation_id: conversation, from_agent_id: target, success: true, result: { n: 1 }, metadata: {} };
    expect(await lastDelivery().reply(reply)).toBe(true);
    expect(await result).toEqual(reply);
  });

  it('applies policy to a remote target like any other: a remote of another tenant without consent is AGENT_NOT_FOUND, never delivered', async () => {
    const target = remote('some-other-tenant');
    const sender = await connectFake(node, uniqueId('sender'));
    const before = remotes.deliveries.length;
    await expect(sender.call('send', { to_agent_id: target, content: text('hi') })).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' });
    expect(remotes.deliveries.length).toBe(before);
  });

  it("passes the remote's refusal on to the sender, and an unknown id stays AGENT_NOT_FOUND", async () => {
    const target = remote();
    const sender = await connectFake(node, uniqueId('sender'));
    remotes.refuse = new GatewayError('FORBIDDEN', 'egress refused: test', { reason: 'egress_refused' });
    try {
      await expect(sender.call('send', { to_agent_id: target, content: text('hi'), expect_result: true })).rejects.toMatchObject({
        code: 'FORBIDDEN',
        reason: 'egress_refused',
      });
    } finally {
      remotes.refuse = null;
    }
    await expect(sender.call('send', { to_agent_id: uniqueId('nobody'), content: text('hi') })).rejects.toMatchObject({
      code: 'AGENT_NOT_FOUND',
    });
  });
});
