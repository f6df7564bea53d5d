import { WebSocket, type ClientOptions } from 'ws';
import { WEBSOCKET_PATH } from '#libs/protocol';

/** A frame the gateway sent, parsed. */
export type Frame = Record<string, unknown> & { type: string };

/**
 * A bare `ws` client of `/gateway/connect` (no SDK): it records every frame, lets a test wait for
 * the next one of a type, send raw text or binary, and see how the connection closed.
 */
export interface WsAgent {
  socket: WebSocket;
  frames: Frame[];
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  /** The next frame matching (already received ones not yet taken count). */
  next(match: string | ((frame: Frame) => boolean), timeoutMs?: number): Promise<Frame>;
  send(frame: unknown): void;
  sendRaw(data: string | Buffer, binary?: boolean): void;
  /** Sends a frame with `id` and resolves with its `ack` or `error` frame. */
  call(type: string, payload?: Record<string, unknown>, timeoutMs?: number): Promise<Frame>;
}

let ids = 0;

export function wsUrl(httpUrl: string, query: Record<string, string> = {}): string {
  const url = new URL(WEBSOCKET_PATH, httpUrl.replace(/^http/, 'ws'));
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url.href;
}

/** Opens the connection; resolves once open (the first frame is then `session` or an `error`). */
export function openWs(
  httpUrl: string,
  options: { token?: string; query?: Record<string, string>; headers?: Record<string, string>; ws?: ClientOptions } = {},
): Promise<WsAgent> {
  const socket = new WebSocket(wsUrl(httpUrl, options.query), {
    headers: { ...(options.token && { authorization: `Bearer ${options.token}` }), ...options.headers },
    ...options.ws,
  });
  const frames: Frame[] = [];
  const taken = new Set<Frame>();
  const waiters = new Set<() => void>();
  socket.on('message', (data, isBinary) => {
    if (!isBinary) frames.push(JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : '') as Frame);
    for (const wake of waiters) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const wake of waiters) wake();
    }),
  );
  const next: WsAgent['next'] = (match, timeoutMs = 5_000) => {
    const test = typeof match === 'string' ? (f: Frame) => f.type === match : match;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const frame = frames.find((f) => !taken.has(f) && test(f));
        if (!frame) return false;
        taken.add(frame);
        resolve(frame);
        return true;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(
          new Error(`no ${typeof match === 'string' ? match : 'matching'} frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`),
        );
      }, timeoutMs);
      const wake = () => {
        if (check()) {
          clearTimeout(timer);
          waiters.delete(wake);
        }
      };
      waiters.add(wake);
    });
  };
  const agent: WsAgent = {
    socket,
    frames,
    closed,
    next,
    send: (frame) => socket.send(JSON.stringify(frame)),
    sendRaw: (data, binary = false) => socket.send(data, { binary }),
    call: (type, payload = {}, timeoutMs = 10_000) => {
      const id = `t${++ids}`;
      socket.send(JSON.stringify({ type, id, ...payload }));
      return next((f) => (f.type === 'ack' || f.type === 'error') && f.id === id, timeoutMs);
    },
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(agent));
    socket.once('error', reject);
  });
}

/** Opens the connection and waits for its `session` frame. */
export async function connectWs(httpUrl: string, token: string, query: Record<string, string> = {}): Promise<WsAgent & { session: Frame }> {
  const agent = await openWs(httpUrl, { token, query });
  const first = await agent.next((f) => f.type === 'session' || f.type === 'error');
  if (first.type !== 'session') throw new Error(`connect refused: ${JSON.stringify(first)}`);
  return { ...agent, session: first };
}
