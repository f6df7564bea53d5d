import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import type { ConnectErrorData, MessageEvent, ResultEvent, SessionClosedEvent, SessionEvent } from '#libs/protocol';
import { CLI_MAIN } from './gateway-process.js';
import { TEST_DATABASE_URL, TEST_PREFIX_ROOT } from './env.js';

const run = promisify(execFile);

/** A raw socket.io-client connection to `/gateway` with what it received. */
export interface TestAgent {
  socket: Socket;
  session: SessionEvent;
  messages: MessageEvent[];
  results: ResultEvent[];
  closed: SessionClosedEvent[];
  /** Emits an event and resolves with its ack. */
  call(event: string, payload?: unknown, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when the socket is disconnected. */
  disconnected: Promise<string>;
}

/** Options for {@link connectAgent}. */
export interface ConnectOptions {
  agentId?: string;
  token?: string;
  auth?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** TLS options of the connection (`ca`, client `cert` and `key`). */
  tls?: { ca?: string; cert?: string; key?: string };
  /** How the agent acks `message` (default: at once). */
  onMessage?: (message: MessageEvent, ack: (response: unknown) => void) => void;
}

/** Connects a raw socket.io client and resolves once `session` arrived; rejects with the `connect_error` data. */
export function connectAgent(url: string, options: ConnectOptions = {}): Promise<TestAgent> {
  const auth = options.auth ?? { ...(options.agentId && { agent_id: options.agentId }), ...(options.token && { token: options.token }) };
  const socket = io(`${url}/gateway`, {
    transports: ['websocket'],
    reconnection: false,
    auth,
    extraHeaders: options.headers,
    forceNew: true,
    ...options.tls,
  });
  const messages: MessageEvent[] = [];
  const results: ResultEvent[] = [];
  const closed: SessionClosedEvent[] = [];
  socket.on('message', (message: MessageEvent, ack: (response: unknown) => void) => {
    messages.push(message);
    if (options.onMessage) options.onMessage(message, ack);
    else ack({ status: 'received' });
  });
  socket.on('result', (result: ResultEvent) => results.push(result));
  socket.on('session_closed', (event: SessionClosedEvent) => closed.push(event));
  const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
  return new Promise((resolve, reject) => {
    socket.once('session', (session: SessionEvent) =>
      resolve({
        socket,
        session,
        messages,
        results,
        closed,
        disconnected,
        call: (event, payload = {}, timeoutMs = 10_000) =>
          socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<Record<string, unknown>>,
      }),
    );
    socket.once('connect_error', (error: Error & { data?: ConnectErrorData; description?: unknown }) => {
      socket.close();
      const cause = error.description as { message?: string; error?: { message?: string } } | undefined;
      const detail = cause?.error?.message ?? cause?.message;
      reject(Object.assign(new Error(detail ? `${error.message}: ${detail}` : error.message), { data: error.data }));
    });
  });
}

/** Waits until `predicate` holds, polling every 20 ms; fails after `timeoutMs`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Registers an agent and issues it a token with the operator CLI (the real provisioning path before the admin API). */
export async function provisionAgent(
  agentId: string,
  tenantId: string,
  options: { capabilities?: string[]; expiresInS?: number; tokenName?: string; redisKeyPrefix?: string } = {},
): Promise<string> {
  // The CLI's audit records go to the queue under this prefix (a test prefix, removed at teardown,
  // unless the test gives a gateway's, whose writer then stores them).
  const env = {
    ...process.env,
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_POOL_SIZE: '2',
    REDIS_KEY_PREFIX: options.redisKeyPrefix ?? `${TEST_PREFIX_ROOT}cli:`,
  };
  const create = ['agent', 'create', agentId, '--tenant', tenantId];
  if (options.capabilities) create.push('--capabilities', options.capabilities.join(','));
  await run(process.execPath, [CLI_MAIN, ...create], { env });
  const token = ['token', 'create', agentId];
  if (options.expiresInS) token.push('--expires-in-s', String(options.expiresInS));
  if (options.tokenName !== undefined) token.push('--name', options.tokenName);
  const { stdout } = await run(process.execPath, [CLI_MAIN, ...token], { env });
  return (JSON.parse(stdout) as { token: string }).token;
}

/** JSON over HTTP: status, headers and parsed body. */
export async function http(
  method: string,
  url: string,
  options: { body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(url, {
    method,
    headers: {
      ...(options.body !== undefined || options.rawBody !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    ...(options.rawBody !== undefined && { body: options.rawBody }),
  });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: response.status, body, headers: response.headers };
}
