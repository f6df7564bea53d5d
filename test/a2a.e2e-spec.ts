import { Role, TaskState, type Part, type SendMessageRequest, type StreamResponse, type Task } from '@a2a-js/sdk';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { LegacyJsonRpcTransport } from '@a2a-js/sdk/compat/v0_3/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CancelEvent, MessageEvent } from '#libs/protocol';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, http, waitFor, type TestAgent } from './support/agents.js';
import { uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { connectWs, type WsAgent } from './support/ws-agent.js';

/** A fetch that authenticates as an agent with its API token (what an A2A client of ours passes). */
function bearerFetch(token: string): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
}

async function a2aClient(gateway: GatewayProcess, agentId: string, token: string): Promise<Client> {
  const fetchImpl = bearerFetch(token);
  const factory = new ClientFactory({
    transports: [new JsonRpcTransportFactory({ fetchImpl })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
  });
  // The card path is absolute (the SDK's default resolves against the origin's root).
  return factory.createFromUrl(gateway.url, `/a2a/${agentId}/.well-known/agent-card.json`);
}

const text = (value: string): Part => ({ content: { $case: 'text', value }, metadata: {}, filename: '', mediaType: 'text/plain' });
const data = (value: unknown): Part => ({ content: { $case: 'data', value }, metadata: {}, filename: '', mediaType: 'application/json' });

function request(parts: Part[], configuration: Partial<SendMessageRequest['configuration']> = {}): SendMessageRequest {
  return {
    tenant: '',
    message: {
      messageId: crypto.randomUUID(),
      contextId: '',
      taskId: '',
      role: Role.ROLE_USER,
      parts,
      metadata: {},
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: false, ...configuration },
    metadata: {},
  };
}

function asTask(result: unknown): Task {
  expect(result).toHaveProperty('status');
  return result as Task;
}

const artifactValue = (task: Task): unknown => {
  const content = task.artifacts[0]?.parts[0]?.content;
  return content?.$case === 'text' || content?.$case === 'data' ? content.value : undefined;
};
const statusText = (task: Task): string | undefined => {
  const content = task.status?.message?.parts[0]?.content;
  return content?.$case === 'text' ? content.value : undefined;
};

/** The JSON-RPC error an SDK call threw: the envelope's code and the gateway's `data`. */
async function rpcError(call: Promise<unknown>): Promise<{ code: number; data: Record<string, unknown> }> {
  return rpcErrorOf(
    await call.then(
      () => {
        throw new Error('expected a JSON-RPC error');
      },
      (e: unknown) => e,
    ),
  );
}

function rpcErrorOf(thrown: unknown): { code: number; data: Record<string, unknown> } {
  const error = thrown as {
    envelopeCode?: number;
    data?: Record<string, unknown>;
    cause?: { envelopeCode?: number; data?: Record<string, unknown> };
  };
  const source = error.envelopeCode !== undefined ? error : (error.cause ?? {});
  return { code: source.envelopeCode ?? 0, data: source.data ?? {} };
}

// Two real gateway nodes sharing Redis and Postgres; the A2A SDK's own clients (1.0 and 0.3) against
// agents connected over socket.io and plain WebSocket.
describe('A2A inbound (contract §9)', () => {
  const prefix = uniquePrefix();
  let one: GatewayProcess;
  let two: GatewayProcess;
  let admin: AdminClient;
  let tenant: string;
  const open: (TestAgent | WsAgent)[] = [];
  let callerId: string;
  let callerToken: string;
  /** Answers every message on node two with a result built from it. */
  let echo: TestAgent & { id: string };
  /** On node two too: receives and never answers (cancel and time-out). */
  let silent: TestAgent & { id: string; cancels: CancelEvent[] };
  let wsAgent: WsAgent & { id: string };

  const registered = async (capabilities: string[] = [], id = uniqueId('a2a')): Promise<{ id: string; token: string }> => {
    await admin.agent(tenant, { id, capabilities });
    return { id, token: (await admin.token(id)).token };
  };

  beforeAll(async () => {
    const env = { REDIS_KEY_PREFIX: prefix, A2A_TIMEOUT_MS: '3000', A2A_STREAM_KEEPALIVE_S: '1' };
    [one, two] = await Promise.all([startGateway(env), startGateway(env)]);
    admin = adminClient(one);
    tenant = await admin.tenant();
    ({ id: callerId, token: callerToken } = await registered());

    const e = await registered(['summarize', 'translate']);
    const echoAgent = await connectAgent(two.url, {
      agentId: e.id,
      token: e.token,
      onMessage: (message, ack) => {
        ack({ status: 'received' });
        const [first] = message.content;
        const delay = first?.type === 'text' && first.text.startsWith('slow') ? 1_500 : 0;
        setTimeout(() => {
          const answer =
            first?.type === 'text'
              ? first.text === 'fail'
                ? { success: false, error: { code: 'AGENT_ERROR', message: 'cannot do that' } }
                : { success: true, result: first.text.toUpperCase() }
              : { success: true, result: { received: first?.type === 'data' ? first.data : null, metadata: message.metadata } };
          void echoAgent.call('result', { conversation_id: message.conversation_id, ...answer }).catch(() => undefined);
        }, delay);
      },
    });
    echo = Object.assign(echoAgent, { id: e.id });
    open.push(echo);

    const s = await registered();
    const cancels: CancelEvent[] = [];
    const silentAgent = await connectAgent(two.url, { agentId: s.id, token: s.token });
    silentAgent.socket.on('cancel', (event: CancelEvent) => cancels.push(event));
    silent = Object.assign(silentAgent, { id: s.id, cancels });
    open.push(silent);

    const w = await registered();
    const ws = await connectWs(one.url, w.token);
    wsAgent = Object.assign(ws, { id: w.id });
    open.push(wsAgent);
    void (async () => {
      for (;;) {
        const frame = await ws.next('message', 600_000).catch(() => null);
        if (!frame) return;
        const message = frame as unknown as MessageEvent;
        ws.send({
          type: 'result',
          conversation_id: message.conversation_id,
          success: true,
          result: `ws:${JSON.stringify(message.content)}`,
        });
      }
    })();
  });

  afterAll(async () => {
    for (const agent of open) agent.socket.close();
    await Promise.all([one?.stop(), two?.stop()]);
  });

  it('serves a card per agent to an authenticated caller: 401 without credentials, 404 for another tenant', async () => {
    const cardUrl = `${one.url}/a2a/${echo.id}/.well-known/agent-card.json`;
    const card = await http('GET', cardUrl, { headers: { authorization: `Bearer ${callerToken}` } });
    expect(card.status).toBe(200);
    expect(card.body).toMatchObject({
      name: echo.id,
      capabilities: { streaming: true },
      skills: [
        { id: 'summarize', name: 'summarize' },
        { id: 'translate', name: 'translate' },
      ],
      supportedInterfaces: [
        { url: `${one.url}/a2a/${echo.id}`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
        { protocolVersion: '0.3' },
      ],
      securitySchemes: { apiToken: { httpAuthSecurityScheme: { scheme: 'Bearer' } } },
      securityRequirements: [{ schemes: { apiToken: {} } }],
    });
    expect((await http('GET', cardUrl)).status).toBe(401);
    expect(
      (await http('POST', `${one.url}/a2a/${echo.id}`, { body: { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'x' } } })).status,
    ).toBe(401);

    const otherTenant = await admin.tenant();
    const stranger = uniqueId('stranger');
    await admin.agent(otherTenant, { id: stranger });
    const strangerAgent = await connectAgent(one.url, { agentId: stranger, token: (await admin.token(stranger)).token });
    open.push(strangerAgent);
    const hidden = await http('GET', `${one.url}/a2a/${stranger}/.well-known/agent-card.json`, {
      headers: { authorization: `Bearer ${callerToken}` },
    });
    expect(hidden.status).toBe(404);
    expect(hidden.body).toMatchObject({ error: { code: 'AGENT_NOT_FOUND' } });
  });

  it('SendMessage reaches a socket.io agent on another node and returns its result (text and data)', async () => {
    const client = await a2aClient(one, echo.id, callerToken);
    const done = asTask(await client.sendMessage(request([text('hello')])));
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(artifactValue(done)).toBe('HELLO');
    const delivered = echo.messages.find((m) => m.conversation_id === done.id);
    expect(delivered).toMatchObject({
      from_agent_id: callerId,
      content: [{ type: 'text', text: 'hello' }],
      expect_result: true,
      metadata: { a2a: { task_id: done.id, context_id: done.contextId, message_id: expect.any(String) } },
    });

    const structured = asTask(await client.sendMessage(request([data({ rows: [1, 2] })])));
    expect(structured.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(artifactValue(structured)).toMatchObject({ received: { rows: [1, 2] } });

    const failed = asTask(await client.sendMessage(request([text('fail')])));
    expect(failed.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(statusText(failed)).toBe('AGENT_ERROR: cannot do that');
  });

  it('SendMessage reaches a plain-WebSocket agent', async () => {
    const client = await a2aClient(two, wsAgent.id, callerToken);
    const done = asTask(await client.sendMessage(request([text('hi'), data({ n: 1 })])));
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(artifactValue(done)).toBe('ws:[{"type":"text","text":"hi"},{"type":"data","data":{"n":1}}]');
  });

  it('SendStreamingMessage streams the task to COMPLETED over SSE, with keep-alive comments', async () => {
    const client = await a2aClient(one, echo.id, callerToken);
    const events: StreamResponse[] = [];
    for await (const event of client.sendMessageStream(request([text('slow stream')]))) events.push(event);
    expect(events.map((e) => e.payload?.$case)).toEqual(['task', 'artifactUpdate', 'statusUpdate']);
    const last = events.at(-1)!.payload;
    expect(last?.$case === 'statusUpdate' && last.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);

    // The raw stream: SSE headers, and a comment line while the agent takes 1.5 s.
    const raw = await fetch(`${one.url}/a2a/${echo.id}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${callerToken}`, 'content-type': 'application/json', 'a2a-version': '1.0' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'SendStreamingMessage',
        params: { message: { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text: 'slow raw' }] } },
      }),
    });
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(raw.headers.get('x-accel-buffering')).toBe('no');
    const body = await raw.text();
    expect(body).toContain(': keep-alive\n\n');
    expect(body).toContain('TASK_STATE_COMPLETED');
  });

  it('a task sent through one node is answered by GetTask and resubscribed on the other', async () => {
    const viaOne = await a2aClient(one, echo.id, callerToken);
    const viaTwo = await a2aClient(two, echo.id, callerToken);
    const started = asTask(await viaOne.sendMessage(request([text('slow cross-node')], { returnImmediately: true })));
    expect(started.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    const seen = asTask(await viaTwo.getTask({ tenant: '', id: started.id, historyLength: undefined }));
    expect(seen.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    const resubscribed: StreamResponse[] = [];
    for await (const event of viaTwo.resubscribeTask({ tenant: '', id: started.id })) resubscribed.push(event);
    expect(resubscribed[0]?.payload?.$case).toBe('task');
    const last = resubscribed.at(-1)!.payload;
    expect(last?.$case === 'statusUpdate' && last.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const ended = await viaTwo.getTask({ tenant: '', id: started.id, historyLength: undefined });
    expect(ended.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(artifactValue(ended)).toBe('SLOW CROSS-NODE');
    expect(ended.history).toHaveLength(1);

    // Only its creator sees a task.
    const other = await registered();
    const outsider = await a2aClient(two, echo.id, other.token);
    expect(await rpcError(outsider.getTask({ tenant: '', id: started.id, historyLength: undefined }))).toMatchObject({ code: -32001 });
  });

  it('CancelTask ends the task CANCELED, sends `cancel` to the agent, and its late result is dropped', async () => {
    const client = await a2aClient(one, silent.id, callerToken);
    const started = asTask(await client.sendMessage(request([text('work on this')], { returnImmediately: true })));
    await waitFor(() => silent.messages.some((m) => m.conversation_id === started.id), 5_000, 'the message at the agent');
    const canceled = await client.cancelTask({ tenant: '', id: started.id, metadata: {} });
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await waitFor(() => silent.cancels.length > 0, 2_000, 'the cancel event');
    expect(silent.cancels[0]).toEqual({
      conversation_id: started.id,
      from_agent_id: callerId,
      reason: expect.stringContaining('canceled'),
    });
    const late = await silent.call('result', { conversation_id: started.id, success: true, result: 'too late' });
    expect(late).toMatchObject({ error: { code: 'AGENT_NOT_FOUND' } });
    const after = await (await a2aClient(two, silent.id, callerToken)).getTask({ tenant: '', id: started.id, historyLength: undefined });
    expect(after.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    expect(after.artifacts).toHaveLength(0);
  });

  it('no result within A2A_TIMEOUT_MS ends the task FAILED, naming TIMEOUT', async () => {
    const client = await a2aClient(two, silent.id, callerToken);
    const failed = asTask(await client.sendMessage(request([text('never answered')])));
    expect(failed.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(statusText(failed)).toMatch(/^TIMEOUT: /);
  });

  it('refusals before routing are JSON-RPC errors whose data is the gateway error', async () => {
    const client = await a2aClient(one, echo.id, callerToken);
    // An agent that is registered but not connected: no card, so the client is built on a connected one's.
    const absent = await registered();
    const toAbsent = new LegacyJsonRpcTransport({ endpoint: `${one.url}/a2a/${absent.id}`, fetchImpl: bearerFetch(callerToken) });
    expect(await rpcError(toAbsent.sendMessage(request([text('anyone?')])))).toMatchObject({
      code: -32000,
      data: { code: 'AGENT_NOT_FOUND', request_id: expect.any(String) },
    });

    const planner = await registered(['plan']);
    await admin.call('PUT', `/admin/v1/tenants/${tenant}/policy`, {
      rules: [
        { effect: 'allow', actions: ['send'], from: { agent_id: '*' }, to: { agent_id: '*' } },
        { effect: 'deny', actions: ['send'], from: { capability: 'plan' }, to: { agent_id: echo.id } },
      ],
    });
    const denied = await rpcError((await a2aClient(one, echo.id, planner.token)).sendMessage(request([text('x')])));
    expect(denied).toMatchObject({ code: -32000, data: { code: 'FORBIDDEN' } });
    // Files have no place in a gateway message.
    const file: Part = {
      content: { $case: 'url', value: 'https://example.com/f.pdf' },
      metadata: {},
      filename: 'f.pdf',
      mediaType: 'application/pdf',
    };
    expect(await rpcError(client.sendMessage(request([file])))).toMatchObject({ code: -32602, data: { code: 'INVALID_MESSAGE' } });
    expect(await rpcError(client.getTask({ tenant: '', id: 'no-such-task', historyLength: undefined }))).toMatchObject({ code: -32001 });
  });

  it('over the rate limit, a send is a JSON-RPC error with RATE_LIMIT and retry_after_ms', async () => {
    const strict = await startGateway({ REDIS_KEY_PREFIX: prefix, RATE_LIMIT_DEFAULTS: '{"messages_per_second":1,"burst":1}' });
    try {
      const limited = await registered();
      const client = await a2aClient(strict, echo.id, limited.token);
      const outcomes = await Promise.allSettled([1, 2, 3].map(() => client.sendMessage(request([text('burst')]))));
      const refused = outcomes.find((o) => o.status === 'rejected');
      expect(refused).toBeDefined();
      expect(rpcErrorOf((refused as PromiseRejectedResult).reason)).toMatchObject({
        code: -32000,
        data: { code: 'RATE_LIMIT', retry_after_ms: expect.any(Number) },
      });
    } finally {
      await strict.stop();
    }
  });

  it('audits each A2A send as message.routed with details.protocol "a2a", the method and the task id', async () => {
    const client = await a2aClient(one, echo.id, callerToken);
    const done = asTask(await client.sendMessage(request([text('audit me')])));
    await waitFor(
      async () => {
        const page = await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&action=message.routed&limit=200`);
        // The send's record and the result's: written by batches that may commit in either order.
        return (
          (page.body.items as { details: Record<string, unknown> }[]).filter((r) => r.details.conversation_id === done.id).length === 2
        );
      },
      30_000,
      'the audit records of the send and of its result',
    );
    const page = await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&action=message.routed&limit=200`);
    const records = page.body.items as { actor: { id: string }; subject: string; details: Record<string, unknown> }[];
    const send = records.find((r) => r.details.conversation_id === done.id && r.details.kind === undefined);
    expect(send).toMatchObject({
      actor: { id: callerId },
      subject: echo.id,
      details: { protocol: 'a2a', 'a2a.method': 'SendMessage', 'a2a.task_id': done.id, expect_result: true },
    });
    const result = records.find((r) => r.details.conversation_id === done.id && r.details.kind === 'result');
    expect(result).toMatchObject({ actor: { id: echo.id }, subject: callerId, details: { protocol: 'socket.io' } });
  });

  it('a v0.3 client (the SDK compat transport) sends, reads and cancels with the 0.3 method names', async () => {
    const legacy = new LegacyJsonRpcTransport({ endpoint: `${one.url}/a2a/${echo.id}`, fetchImpl: bearerFetch(callerToken) });
    const done = asTask(await legacy.sendMessage(request([text('from the past')])));
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(artifactValue(done)).toBe('FROM THE PAST');
    const read = await legacy.getTask({ tenant: '', id: done.id, historyLength: undefined });
    expect(read.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const streamed: StreamResponse[] = [];
    for await (const event of legacy.sendMessageStream(request([text('stream')]))) streamed.push(event);
    const last = streamed.at(-1)?.payload;
    expect(last?.$case === 'statusUpdate' && last.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);

    const toSilent = new LegacyJsonRpcTransport({ endpoint: `${two.url}/a2a/${silent.id}`, fetchImpl: bearerFetch(callerToken) });
    const started = asTask(await toSilent.sendMessage(request([text('hold on')], { returnImmediately: true })));
    expect(started.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    expect((await toSilent.cancelTask({ tenant: '', id: started.id, metadata: {} })).status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await waitFor(() => silent.cancels.some((c) => c.conversation_id === started.id), 2_000, 'the cancel event');
  });
});
