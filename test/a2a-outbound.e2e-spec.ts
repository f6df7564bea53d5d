import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import express from 'express';
import { TaskState, type AgentCard, type Part, type Task } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, type AgentExecutor, type ExecutionEventBus } from '@a2a-js/sdk/server';
import { UserBuilder, agentCardHandler, jsonRpcHandler } from '@a2a-js/sdk/server/express';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, http, waitFor, type TestAgent } from './support/agents.js';
import { uniqueId } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

/*
 * Real: the compiled gateway (production bootstrap) on the real Postgres and Redis, a socket.io
 * agent, and a remote A2A agent built in this test with @a2a-js/sdk's server (DefaultRequestHandler,
 * InMemoryTaskStore, jsonRpcHandler, agentCardHandler on express, on 127.0.0.1). Nothing is faked.
 * The remote answers by the text it gets: `hang` never finishes, `data` returns a data part,
 * `fail` fails, anything else comes back as "remote says: <text>".
 */

interface RemoteServer {
  url: string;
  port: number;
  /** `authorization` header of every request the remote got (card and JSON-RPC). */
  authorizations: (string | undefined)[];
  /** The context id of every message the remote executed. */
  contexts: string[];
  /** The `authorization` header of the SendMessage that carried each context id. */
  authorizationOf: Map<string, string | undefined>;
  close(): Promise<void>;
}

const text = (value: string): Part => ({ content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: 'text/plain' });
const data = (value: unknown): Part => ({
  content: { $case: 'data', value },
  metadata: undefined,
  filename: '',
  mediaType: 'application/json',
});
const status = (state: TaskState, message?: string) => ({
  state,
  timestamp: new Date().toISOString(),
  message: message
    ? {
        messageId: randomBytes(8).toString('hex'),
        contextId: '',
        taskId: '',
        role: 2,
        parts: [text(message)],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      }
    : undefined,
});

async function startRemote(): Promise<RemoteServer> {
  const authorizations: (string | undefined)[] = [];
  const contexts: string[] = [];
  const authorizationOf = new Map<string, string | undefined>();
  const hanging: (() => void)[] = [];
  const executor: AgentExecutor = {
    async execute(context, bus: ExecutionEventBus) {
      const said = context.userMessage.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
      contexts.push(context.contextId);
      const headers = context.context.state.get('headers') as Record<string, string | string[] | undefined> | undefined;
      const authorization = headers?.authorization;
      authorizationOf.set(context.contextId, Array.isArray(authorization) ? authorization.join(',') : authorization);
      const task: Task = {
        id: context.taskId,
        contextId: context.contextId,
        status: status(TaskState.TASK_STATE_SUBMITTED),
        artifacts: [],
        history: [context.userMessage],
        metadata: {},
      };
      bus.publish(AgentEvent.task(task));
      if (said === 'hang') {
        await new Promise<void>((resolve) => hanging.push(resolve));
        return;
      }
      // Still working when the gateway first asks: its result comes from polling.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const ids = { taskId: context.taskId, contextId: context.contextId, metadata: undefined };
      if (said === 'fail') {
        bus.publish(AgentEvent.statusUpdate({ ...ids, status: status(TaskState.TASK_STATE_FAILED, 'the remote could not do it') }));
      } else {
        const parts =
          said === 'data'
            ? [data({ answer: 42, from: 'remote' })]
            : said === 'echo credential'
              ? [text(`you sent ${authorizationOf.get(context.contextId) ?? 'nothing'}`)]
              : said === 'deep'
                ? [data(Array.from({ length: 200 }).reduce<unknown>((inner) => ({ inner }), 'bottom'))]
                : [text(`remote says: ${said}`)];
        bus.publish(
          AgentEvent.artifactUpdate({
            ...ids,
            artifact: { artifactId: 'answer', name: 'answer', description: '', parts, metadata: undefined, extensions: [] },
            append: false,
            lastChunk: true,
          }),
        );
        bus.publish(AgentEvent.statusUpdate({ ...ids, status: status(TaskState.TASK_STATE_COMPLETED) }));
      }
      bus.finished();
    },
    cancelTask(taskId, bus) {
      bus.publish(AgentEvent.statusUpdate({ taskId, contextId: '', metadata: undefined, status: status(TaskState.TASK_STATE_CANCELED) }));
      bus.finished();
      return Promise.resolve();
    },
  };
  const app = express();
  app.use((req, _res, next) => {
    authorizations.push(req.headers.authorization);
    next();
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const port = (server.address() as AddressInfo).port;
  const card: AgentCard = {
    name: 'remote-echo',
    description: 'a remote A2A agent of the test',
    version: '1.0.0',
    supportedInterfaces: [{ url: `http://127.0.0.1:${port}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' }],
    provider: undefined,
    capabilities: { streaming: false, pushNotifications: false, extensions: [] },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain', 'application/json'],
    defaultOutputModes: ['text/plain', 'application/json'],
    skills: [],
    signatures: [],
  };
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler }));
  app.use('/a2a/jsonrpc', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    authorizations,
    contexts,
    authorizationOf,
    close: () =>
      new Promise((resolve) => {
        for (const release of hanging) release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('A2A outbound (contract §9): remote A2A agents reached by a send', () => {
  const SECRETS_KEY = `test-secrets-key-${randomBytes(16).toString('hex')}`;
  const remoteToken = `rmt_${randomBytes(24).toString('hex')}`;
  let remote: RemoteServer;
  let gateway: GatewayProcess;
  let admin: AdminClient;
  let tenant: string;
  let remoteId: string;
  let senderToken: string;
  let sender: TestAgent;
  const adminBodies: string[] = [];

  const send = (content: string, extra: Record<string, unknown> = {}) =>
    sender.call('send', { to_agent_id: remoteId, content: [{ type: 'text', text: content }], expect_result: true, ...extra });
  const resultOf = async (conversationId: string, timeoutMs = 10_000) => {
    await waitFor(() => sender.results.some((r) => r.conversation_id === conversationId), timeoutMs, `result of ${conversationId}`);
    return sender.results.find((r) => r.conversation_id === conversationId)!;
  };

  beforeAll(async () => {
    remote = await startRemote();
    gateway = await startGateway({
      SECRETS_KEY,
      A2A_EGRESS_ALLOW: `127.0.0.1:${remote.port}`,
      // The most the gateway ever logs: the credential must be in none of it.
      LOG_LEVEL: 'verbose',
    });
    admin = adminClient(gateway);
    tenant = await admin.tenant();
    remoteId = uniqueId('remote');
    const registered = await admin.call('POST', '/admin/v1/agents', {
      agent_id: remoteId,
      tenant_id: tenant,
      capabilities: ['echo'],
      a2a_url: remote.url,
      a2a_credential: { type: 'bearer', token: remoteToken },
    });
    adminBodies.push(JSON.stringify(registered.body));
    expect(registered.status).toBe(201);
    const senderId = await admin.agent(tenant);
    senderToken = (await admin.token(senderId)).token;
    sender = await connectAgent(gateway.url, { token: senderToken });
  });

  afterAll(async () => {
    sender?.socket.close();
    await gateway?.stop();
    await remote?.close();
  });

  it('registers a remote agent: the admin API shows its URL and that a credential is configured, never the credential', async () => {
    const read = await admin.call('GET', `/admin/v1/agents/${remoteId}`);
    const list = await admin.call('GET', `/admin/v1/agents?tenant_id=${tenant}`);
    adminBodies.push(JSON.stringify(read.body), JSON.stringify(list.body));
    expect(read).toMatchObject({
      status: 200,
      body: { agent_id: remoteId, a2a_url: remote.url, a2a_credential: { type: 'bearer', configured: true } },
    });
    expect(list.body.items).toContainEqual(
      expect.objectContaining({ agent_id: remoteId, a2a_credential: { type: 'bearer', configured: true } }),
    );
    for (const body of adminBodies) expect(body).not.toContain(remoteToken);
  });

  it("carries a socket agent's send to the remote with the stored bearer credential; the remote's reply is the result", async () => {
    const seen = remote.authorizations.length;
    const ack = await send('hello');
    expect(ack).toMatchObject({ status: 'delivered', conversation_id: expect.any(String) });
    const result = await resultOf(ack.conversation_id as string);
    expect(result).toMatchObject({ from_agent_id: remoteId, success: true, result: 'remote says: hello' });
    expect(result.metadata).toMatchObject({ a2a: { state: 'TASK_STATE_COMPLETED', task_id: expect.any(String) } });
    // Card, SendMessage and the GetTask polls all carried it.
    const calls = remote.authorizations.slice(seen);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((a) => a === `Bearer ${remoteToken}`)).toBe(true);
    // The conversation id is the A2A context id.
    expect(remote.contexts).toContain(ack.conversation_id);
  });

  it('collapses a data reply to its data, and a failed task to success: false', async () => {
    const dataAck = await send('data');
    expect(await resultOf(dataAck.conversation_id as string)).toMatchObject({ success: true, result: { answer: 42, from: 'remote' } });
    const failAck = await send('fail');
    expect(await resultOf(failAck.conversation_id as string)).toMatchObject({
      success: false,
      error: { code: 'A2A_FAILED', message: expect.stringContaining('the remote could not do it') },
    });
  });

  it('scrubs the credential from a reply that echoes it', async () => {
    const ack = await send('echo credential');
    expect(await resultOf(ack.conversation_id as string)).toMatchObject({ success: true, result: 'you sent Bearer ***' });
  });

  it('refuses a reply nested deeper than MAX_JSON_DEPTH: success false, INVALID_MESSAGE', async () => {
    const ack = await send('deep');
    expect(await resultOf(ack.conversation_id as string)).toMatchObject({
      success: false,
      error: { code: 'INVALID_MESSAGE', message: expect.stringContaining('MAX_JSON_DEPTH') },
    });
  });

  it("ends a remote that never finishes in TIMEOUT after the sender's timeout_ms", async () => {
    const ack = await send('hang', { timeout_ms: 1_500 });
    expect(ack).toMatchObject({ status: 'delivered' });
    expect(await resultOf(ack.conversation_id as string)).toMatchObject({
      from_agent_id: remoteId,
      success: false,
      error: { code: 'TIMEOUT' },
    });
  });

  it('carries a send over the agent HTTP API too (delivered once the remote accepted it)', async () => {
    const before = remote.contexts.length;
    const sent = await http('POST', `${gateway.url}/gateway/send`, {
      headers: { authorization: `Bearer ${senderToken}` },
      body: { to_agent_id: remoteId, content: [{ type: 'text', text: 'over http' }] },
    });
    expect(sent).toMatchObject({ status: 200, body: { status: 'delivered' } });
    expect(remote.contexts.length).toBe(before + 1);
  });

  it("reaches the remote from an A2A client of the gateway too: a sessionless caller's waiter gets the remote's reply", async () => {
    const fetchImpl: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${senderToken}`);
      return fetch(input, { ...init, headers });
    };
    const factory = new ClientFactory({
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    });
    const client = await factory.createFromUrl(gateway.url, `/a2a/${remoteId}/.well-known/agent-card.json`);
    const reply = (await client.sendMessage({
      tenant: '',
      message: {
        messageId: randomBytes(8).toString('hex'),
        contextId: '',
        taskId: '',
        role: 1,
        parts: [text('via a2a')],
        metadata: {},
        extensions: [],
        referenceTaskIds: [],
      },
      configuration: undefined,
      metadata: {},
    })) as Task;
    expect(reply.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const part = reply.artifacts[0]?.parts[0]?.content;
    expect(part).toEqual({ $case: 'text', value: 'remote says: via a2a' });
    // The gateway's task id is the conversation, which is the remote's context id.
    expect(remote.contexts).toContain(reply.id);
  });

  it('lists the remote agent in the directory with status "remote"', async () => {
    const auth = { headers: { authorization: `Bearer ${senderToken}` } };
    const list = await http('GET', `${gateway.url}/gateway/agents`, auth);
    expect(list.status).toBe(200);
    expect(list.body.agents).toContainEqual({
      agent_id: remoteId,
      agent_name: remoteId,
      capabilities: ['echo'],
      status: 'remote',
      last_heartbeat: null,
    });
    const detail = await http('GET', `${gateway.url}/gateway/agents/${remoteId}`, auth);
    expect(detail).toMatchObject({ status: 200, body: { agent_id: remoteId, status: 'remote', connected_at: null } });
  });

  it('follows PATCH at once on every send: a new credential is used, a disabled or no longer remote agent is not reached', async () => {
    const id = uniqueId('remote');
    expect(await admin.call('POST', '/admin/v1/agents', { agent_id: id, tenant_id: tenant, a2a_url: remote.url })).toMatchObject({
      status: 201,
    });
    const to = (text: string) => ({ to_agent_id: id, content: [{ type: 'text', text }], expect_result: true });
    const one = await sender.call('send', to('one'));
    expect(one).toMatchObject({ status: 'delivered' });
    expect(remote.authorizationOf.has(one.conversation_id as string)).toBe(true);
    expect(remote.authorizationOf.get(one.conversation_id as string)).toBeUndefined();
    const header = `hdr-${randomBytes(8).toString('hex')}`;
    const changed = await admin.call('PATCH', `/admin/v1/agents/${id}`, { a2a_credential: { type: 'bearer', token: header } });
    adminBodies.push(JSON.stringify(changed.body));
    expect(changed).toMatchObject({ status: 200, body: { a2a_credential: { type: 'bearer', configured: true } } });
    expect(JSON.stringify(changed.body)).not.toContain(header);
    // Well within the 10 s the lookup cache would otherwise keep the old registration.
    await waitFor(
      async () => {
        const two = await sender.call('send', to('two'));
        return remote.authorizationOf.get(two.conversation_id as string) === `Bearer ${header}`;
      },
      3_000,
      'the new credential in use',
    );
    expect(await admin.call('PATCH', `/admin/v1/agents/${id}`, { status: 'disabled' })).toMatchObject({ status: 200 });
    await waitFor(async () => (await sender.call('send', to('three'))).error !== undefined, 3_000, 'the disabled remote refused');
    expect(await sender.call('send', to('four'))).toMatchObject({ error: { code: 'AGENT_NOT_FOUND' } });
    expect(await admin.call('PATCH', `/admin/v1/agents/${id}`, { status: 'enabled', a2a_url: null })).toMatchObject({ status: 200 });
    const plain = await admin.call('GET', `/admin/v1/agents/${id}`);
    expect(plain.body).not.toHaveProperty('a2a_url');
    expect(await sender.call('send', to('five'))).toMatchObject({ error: { code: 'AGENT_NOT_FOUND' } });
  });

  it('refuses an a2a_url on the metadata address, or on a host or port not in A2A_EGRESS_ALLOW, with a 400 naming it', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data', `http://127.0.0.1:${remote.port + 1}`, 'https://agents.example.com']) {
      const refused = await admin.call('POST', '/admin/v1/agents', { agent_id: uniqueId('bad'), tenant_id: tenant, a2a_url: url });
      expect(refused, url).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_MESSAGE', reason: 'egress_refused', message: expect.stringContaining('A2A_EGRESS_ALLOW') } },
      });
    }
    const metadata = await admin.call('POST', '/admin/v1/agents', {
      agent_id: uniqueId('bad'),
      tenant_id: tenant,
      a2a_url: 'http://169.254.169.254/',
    });
    expect((metadata.body.error as { message: string }).message).toContain('metadata address');
    const userinfo = await admin.call('POST', '/admin/v1/agents', {
      agent_id: uniqueId('bad'),
      tenant_id: tenant,
      a2a_url: `http://u:p@127.0.0.1:${remote.port}`,
    });
    expect(userinfo.status).toBe(400);
  });

  it('audits the send as message.routed with details.a2a.remote, and no audit record or log line holds the credential', async () => {
    let records: Record<string, unknown>[] = [];
    await waitFor(
      async () => {
        const page = await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&limit=200`);
        records = page.body.items as Record<string, unknown>[];
        return records.some((r) => r.action === 'message.routed' && (r.details as { a2a?: { remote?: boolean } }).a2a?.remote === true);
      },
      10_000,
      'the message.routed record of the remote send',
    );
    const routed = records.filter((r) => r.action === 'message.routed' && r.subject === remoteId);
    expect(routed).toContainEqual(
      expect.objectContaining({ outcome: 'allowed', details: expect.objectContaining({ a2a: { remote: true }, expect_result: true }) }),
    );
    // The remote's reply is recorded too, as routed from the remote agent.
    const replies = records.filter((r) => r.action === 'message.routed' && (r.actor as { id: string }).id === remoteId);
    expect(replies).toContainEqual(
      expect.objectContaining({
        details: expect.objectContaining({
          kind: 'result',
          success: true,
          a2a: expect.objectContaining({ remote: true, state: 'TASK_STATE_COMPLETED' }),
        }),
      }),
    );
    const created = records.find((r) => r.action === 'agent.created' && r.subject === remoteId);
    expect(created).toMatchObject({ details: { after: { a2a_url: remote.url, a2a_credential_type: 'bearer' } } });
    expect(JSON.stringify(records)).not.toContain(remoteToken);
    const exported = await fetch(`${gateway.adminUrl}/admin/v1/audit/export?format=ndjson&tenant_id=${tenant}`, {
      headers: { authorization: `Bearer ${gateway.env.ADMIN_TOKEN}` },
    });
    expect(await exported.text()).not.toContain(remoteToken);
    const metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/agw_a2a_outbound_total\{stage="send",outcome="accepted"\} [1-9]/);
    expect(metrics).toMatch(/agw_a2a_outbound_total\{stage="result",outcome="success"\} [1-9]/);
    expect(metrics).not.toContain(remoteToken);
    expect(gateway.output.length).toBeGreaterThan(0);
    expect(gateway.output.join('\n')).not.toContain(remoteToken);
  });
});

/** An A2A "remote" that serves a card (naming `rpcUrl`, or itself) but never answers a JSON-RPC call. */
async function startSilentRemote(rpcUrl?: string): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      const port = (server.address() as AddressInfo).port;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          name: 'silent',
          description: 'accepts connections, never answers',
          version: '1.0.0',
          supportedInterfaces: [{ url: rpcUrl ?? `http://127.0.0.1:${port}/rpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
          capabilities: { streaming: false },
          defaultInputModes: ['text/plain'],
          defaultOutputModes: ['text/plain'],
          skills: [],
        }),
      );
    }
    // POST: never answered.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('A2A outbound: SECRETS_KEY missing or changed, and a remote that does not answer', () => {
  const KEY_A = `key-a-${randomBytes(16).toString('hex')}`;
  const KEY_B = `key-b-${randomBytes(16).toString('hex')}`;
  let remote: RemoteServer;
  let silent: Awaited<ReturnType<typeof startSilentRemote>>;
  let pointsAtMetadata: Awaited<ReturnType<typeof startSilentRemote>>;
  let withKey: GatewayProcess;
  let otherKey: GatewayProcess;
  let noKey: GatewayProcess;
  let tenant: string;
  let remoteId: string;
  let senderToken: string;

  beforeAll(async () => {
    remote = await startRemote();
    silent = await startSilentRemote();
    // Its card sends the gateway to the metadata service: allowed at registration, refused at send.
    pointsAtMetadata = await startSilentRemote('http://169.254.169.254/latest/meta-data');
    const allow = `127.0.0.1:${remote.port},127.0.0.1:${silent.port},127.0.0.1:${pointsAtMetadata.port}`;
    // Three gateways on the same database: the credential sealed by the first is read by the
    // others. Started one after the other: three cold starts at once are slow on a loaded machine.
    withKey = await startGateway({ SECRETS_KEY: KEY_A, A2A_EGRESS_ALLOW: allow });
    otherKey = await startGateway({ SECRETS_KEY: KEY_B, A2A_EGRESS_ALLOW: allow });
    noKey = await startGateway({ A2A_EGRESS_ALLOW: allow, DELIVERY_TIMEOUT_MS: '1000' });
    const admin = adminClient(withKey);
    tenant = await admin.tenant();
    remoteId = uniqueId('remote');
    expect(
      await admin.call('POST', '/admin/v1/agents', {
        agent_id: remoteId,
        tenant_id: tenant,
        a2a_url: remote.url,
        a2a_credential: { type: 'header', name: 'X-Api-Key', value: `key-${randomBytes(8).toString('hex')}` },
      }),
    ).toMatchObject({ status: 201, body: { a2a_credential: { type: 'header', configured: true } } });
    senderToken = (await admin.token(await admin.agent(tenant))).token;
  }, 90_000);

  afterAll(async () => {
    await Promise.all([withKey?.stop(), otherKey?.stop(), noKey?.stop()]);
    await Promise.all([remote?.close(), silent?.close(), pointsAtMetadata?.close()]);
  });

  it('refuses to store a credential without SECRETS_KEY, with a 400 naming it; a remote without credential is fine', async () => {
    const admin = adminClient(noKey);
    const refused = await admin.call('POST', '/admin/v1/agents', {
      agent_id: uniqueId('remote'),
      tenant_id: tenant,
      a2a_url: remote.url,
      a2a_credential: { type: 'bearer', token: 'some-token-value' },
    });
    expect(refused).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_MESSAGE', reason: 'secrets_key_missing', message: expect.stringContaining('SECRETS_KEY') } },
    });
    const plain = await admin.call('POST', '/admin/v1/agents', { agent_id: uniqueId('remote'), tenant_id: tenant, a2a_url: remote.url });
    expect(plain).toMatchObject({ status: 201, body: { a2a_credential: null } });
  });

  it('refuses a send to a remote whose credential was sealed with another SECRETS_KEY (or none is set) with a clear UNAVAILABLE', async () => {
    const calls = remote.contexts.length;
    for (const [gateway, reason] of [
      [otherKey, 'secrets_key_mismatch'],
      [noKey, 'secrets_key_missing'],
    ] as const) {
      const agent = await connectAgent(gateway.url, { token: senderToken });
      try {
        const ack = await agent.call('send', { to_agent_id: remoteId, content: [{ type: 'text', text: 'hi' }], expect_result: true });
        expect(ack, reason).toMatchObject({ error: { code: 'UNAVAILABLE', reason, message: expect.stringContaining('SECRETS_KEY') } });
      } finally {
        agent.socket.close();
      }
    }
    expect(remote.contexts.length).toBe(calls);
    // The gateway that sealed it still opens it.
    const agent = await connectAgent(withKey.url, { token: senderToken });
    try {
      expect(await agent.call('send', { to_agent_id: remoteId, content: [{ type: 'text', text: 'hi' }] })).toMatchObject({
        status: 'delivered',
      });
    } finally {
      agent.socket.close();
    }
  });

  it('refuses at send time, FORBIDDEN egress_refused, a remote whose card names an endpoint on the metadata address', async () => {
    const admin = adminClient(noKey);
    const id = uniqueId('rebound');
    expect(await admin.call('POST', '/admin/v1/agents', { agent_id: id, tenant_id: tenant, a2a_url: pointsAtMetadata.url })).toMatchObject({
      status: 201,
    });
    const agent = await connectAgent(noKey.url, { token: senderToken });
    try {
      const ack = await agent.call('send', { to_agent_id: id, content: [{ type: 'text', text: 'hi' }], expect_result: true });
      expect(ack).toMatchObject({
        error: { code: 'FORBIDDEN', reason: 'egress_refused', message: expect.stringContaining('metadata address') },
      });
    } finally {
      agent.socket.close();
    }
  });

  it('ends a send to a remote that never answers SendMessage in TIMEOUT (DELIVERY_TIMEOUT_MS)', async () => {
    const admin = adminClient(noKey);
    const silentId = uniqueId('silent');
    expect(await admin.call('POST', '/admin/v1/agents', { agent_id: silentId, tenant_id: tenant, a2a_url: silent.url })).toMatchObject({
      status: 201,
    });
    const agent = await connectAgent(noKey.url, { token: senderToken });
    try {
      const ack = await agent.call('send', { to_agent_id: silentId, content: [{ type: 'text', text: 'anyone?' }], expect_result: true });
      expect(ack).toMatchObject({ error: { code: 'TIMEOUT' } });
      const metrics = await (await fetch(`${noKey.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/agw_a2a_outbound_total\{stage="send",outcome="a2a_remote_timeout"\} [1-9]/);
    } finally {
      agent.socket.close();
    }
  });
});
