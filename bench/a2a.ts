/**
 * The A2A round trip (contract §9): `SendMessage` through the gateway to a socket.io agent that
 * answers with a `result`, by the reference client (`@a2a-js/sdk`), closed loop with a few calls in
 * flight; beside it, in the same run against the same agent, the socket.io request/result of the
 * same exchange (`send` with `expect_result`, then the `result` event). Both loads run in the bench
 * process, so the ratio is the figure to read.
 */
import { Role, type SendMessageRequest } from '@a2a-js/sdk';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { io, type Socket } from 'socket.io-client';
import { adminCall } from './admin.js';

export interface RoundTripFigures {
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  count: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : +(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0).toFixed(2);
}

/** Runs `call` in `concurrency` closed loops for `seconds`. */
async function closedLoop(seconds: number, concurrency: number, call: () => Promise<void>): Promise<RoundTripFigures> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await call();
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests_per_s: Math.round(latencies.length / elapsedS),
    p50_ms: percentile(latencies, 0.5),
    p99_ms: percentile(latencies, 0.99),
    errors,
    count: latencies.length,
  };
}

function connect(url: string, agentId: string, token: string): Promise<Socket> {
  const socket = io(`${url}/gateway`, {
    transports: ['websocket'],
    reconnection: false,
    auth: { agent_id: agentId, token },
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    socket.once('session', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

export async function benchA2A(options: {
  gatewayUrl: string;
  adminUrl: string;
  seconds: number;
  concurrency: number;
}): Promise<{ a2a_send_message: RoundTripFigures; socketio_request_result: RoundTripFigures }> {
  const tenant = `bench-a2a-${process.pid}`;
  await adminCall(options.adminUrl, 'POST', '/admin/v1/tenants', { tenant_id: tenant, name: tenant });
  const token = async (agentId: string): Promise<string> => {
    await adminCall(options.adminUrl, 'POST', '/admin/v1/agents', { agent_id: agentId, tenant_id: tenant });
    return (await adminCall(options.adminUrl, 'POST', `/admin/v1/agents/${agentId}/tokens`, {})).token as string;
  };
  const responderId = `bench-a2a-responder-${process.pid}`;
  const callerId = `bench-a2a-caller-${process.pid}`;
  const [responderToken, callerToken] = [await token(responderId), await token(callerId)];

  const responder = await connect(options.gatewayUrl, responderId, responderToken);
  responder.on('message', (message: { conversation_id: string; content: unknown }, ack: (r: unknown) => void) => {
    ack({ status: 'received' });
    responder.emit('result', { conversation_id: message.conversation_id, success: true, result: 'ok' }, () => undefined);
  });
  const caller = await connect(options.gatewayUrl, callerId, callerToken);
  try {
    const fetchImpl: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${callerToken}`);
      return fetch(input, { ...init, headers });
    };
    const client = await new ClientFactory({
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    }).createFromUrl(options.gatewayUrl, `/a2a/${responderId}/.well-known/agent-card.json`);
    const request = (): SendMessageRequest => ({
      tenant: '',
      message: {
        messageId: crypto.randomUUID(),
        contextId: '',
        taskId: '',
        role: Role.ROLE_USER,
        parts: [{ content: { $case: 'text', value: 'x'.repeat(256) }, metadata: {}, filename: '', mediaType: 'text/plain' }],
        metadata: {},
        extensions: [],
        referenceTaskIds: [],
      },
      configuration: undefined,
      metadata: {},
    });
    const a2a = await closedLoop(options.seconds, options.concurrency, async () => {
      const task = (await client.sendMessage(request())) as { status?: { state: number } };
      if (task.status?.state !== 3) throw new Error('task did not complete');
    });

    const waiting = new Map<string, () => void>();
    caller.on('result', (result: { conversation_id: string }) => waiting.get(result.conversation_id)?.());
    const socket = await closedLoop(options.seconds, options.concurrency, async () => {
      const conversation = crypto.randomUUID();
      const answered = new Promise<void>((resolve) => waiting.set(conversation, resolve));
      const ack = (await caller.timeout(10_000).emitWithAck('send', {
        to_agent_id: responderId,
        conversation_id: conversation,
        content: [{ type: 'text', text: 'x'.repeat(256) }],
        expect_result: true,
      })) as { status?: string };
      if (ack.status !== 'delivered') throw new Error('not delivered');
      await answered;
      waiting.delete(conversation);
    });
    return { a2a_send_message: a2a, socketio_request_result: socket };
  } finally {
    responder.close();
    caller.close();
  }
}
