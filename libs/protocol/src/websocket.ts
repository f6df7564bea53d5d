import type { DisconnectReason, SessionClosedEvent } from './disconnect-reasons.js';
import { GatewayError, type ErrorBody, type ErrorCode } from './errors.js';
import type { CancelEvent, MessageEvent, ResultEvent, SessionEvent, TopicMessageEvent } from './events.js';

/**
 * The plain WebSocket transport (contract §4, the seed's protocol): JSON text frames with a
 * `type`, for agents without a socket.io client. The gateway, the tests and the examples share
 * these definitions.
 */
export const WEBSOCKET_PATH = '/gateway/connect';

/**
 * Close codes. **4400–4499: terminal** — do not reconnect with the same credential (fix the request,
 * get a new credential, or stop). **4500–4599: retry** — reconnect with backoff (after
 * `retry_after_ms` when the last `error` frame carried one). Standard codes keep their RFC 6455
 * meaning: 1000 normal, 1009 a frame over the hard cap (reconnect, do not resend it), 1006 the
 * network dropped (reconnect).
 */
export const WS_CLOSE_CODES = {
  /** The connect request is malformed (`agent_id`, `capabilities`…). Terminal. */
  invalid_request: 4400,
  /** No valid credential, or it is no longer accepted. Terminal. */
  unauthorized: 4401,
  /** The credential is valid but not allowed to connect (e.g. disabled agent). Terminal. */
  forbidden: 4403,
  /** Another connection authenticated as the same agent. Terminal, so two copies do not fight. */
  replaced: 4409,
  /** Credential revoked, agent disabled or deleted, or kicked by an admin. Terminal. */
  revoked: 4410,
  /** The credential expired without a `refresh`. Terminal unless the client gets a new one. */
  expired: 4440,
  /** The gateway could not admit the connection now (dependency down, node at capacity). Retry. */
  unavailable: 4500,
  /** The node is shutting down. Retry: the load balancer sends you to another node. */
  server_shutdown: 4503,
  /** No heartbeat within `heartbeat_timeout_s`. Retry. */
  heartbeat_timeout: 4508,
  /** The client stopped reading; what the gateway had to send it passed `SEND_BUFFER_LIMIT_BYTES`. Retry. */
  slow_consumer: 4509,
  /** Too many connects from this address or of this agent. Retry after `retry_after_ms`. */
  rate_limited: 4529,
  /** A connection limit is reached (connections from this address). Retry later, with backoff. */
  limit_exceeded: 4530,
} as const;

export type WsCloseName = keyof typeof WS_CLOSE_CODES;

/** True for the terminal range (4400–4499): the client must not reconnect with the same credential. */
export function isTerminalCloseCode(code: number): boolean {
  return code >= 4400 && code < 4500;
}

/** The close code for a session the gateway closes. */
export function closeCodeOfReason(reason: DisconnectReason): number {
  return WS_CLOSE_CODES[reason];
}

/** The close code for a connection refused at connect time, by error code. */
export function closeCodeOfRefusal(code: ErrorCode): number {
  switch (code) {
    case 'INVALID_MESSAGE':
    case 'PAYLOAD_TOO_LARGE':
      return WS_CLOSE_CODES.invalid_request;
    case 'UNAUTHORIZED':
      return WS_CLOSE_CODES.unauthorized;
    case 'FORBIDDEN':
    case 'AGENT_NOT_FOUND':
    case 'NOT_FOUND':
    case 'CONFLICT':
      return WS_CLOSE_CODES.forbidden;
    case 'RATE_LIMIT':
      return WS_CLOSE_CODES.rate_limited;
    case 'LIMIT_EXCEEDED':
      return WS_CLOSE_CODES.limit_exceeded;
    default:
      return WS_CLOSE_CODES.unavailable;
  }
}

/** The optional correlation id of a client frame, echoed in its `ack` or `error`. */
export type FrameId = string | number;

/** Server → client frames. */
export type ServerFrame =
  | ({ type: 'session' } & SessionEvent)
  | ({ type: 'message' } & MessageEvent)
  | ({ type: 'result' } & ResultEvent)
  | ({ type: 'topic_message' } & TopicMessageEvent)
  | ({ type: 'cancel' } & CancelEvent)
  | ({ type: 'session_closed' } & SessionClosedEvent)
  | ({ type: 'ack'; id: FrameId } & Record<string, unknown>)
  | ({ type: 'error'; id?: FrameId } & ErrorBody);

/** A client frame split into what the dispatcher needs: event name, payload, and the id to answer. */
export type ParsedClientFrame =
  | { ok: true; type: string; id: FrameId | undefined; payload: Record<string, unknown> }
  | { ok: false; id: FrameId | undefined; error: GatewayError };

/**
 * Reads one text frame: a JSON object with a string `type` and an optional `id` (a string of at
 * most 128 characters, or an integer). Everything else in the object is the event's payload, which
 * the dispatcher validates. `oversize` frames that do not parse are answered PAYLOAD_TOO_LARGE.
 */
export function parseClientFrame(text: string, oversize = false): ParsedClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      ok: false,
      id: undefined,
      error: oversize
        ? new GatewayError('PAYLOAD_TOO_LARGE', 'frame is over the size limit')
        : new GatewayError('INVALID_MESSAGE', 'frame is not valid JSON'),
    };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, id: undefined, error: new GatewayError('INVALID_MESSAGE', 'frame must be a JSON object with a "type"') };
  }
  const { type, id, ...payload } = value as Record<string, unknown>;
  const validId = (typeof id === 'string' && id.length >= 1 && id.length <= 128) || Number.isSafeInteger(id);
  if (id !== undefined && !validId) {
    return {
      ok: false,
      id: undefined,
      error: new GatewayError('INVALID_MESSAGE', 'id: must be a string of 1-128 characters or an integer'),
    };
  }
  const frameId = id as FrameId | undefined;
  if (typeof type !== 'string' || type.length === 0) {
    return { ok: false, id: frameId, error: new GatewayError('INVALID_MESSAGE', 'type: required, a string naming the event') };
  }
  return { ok: true, type, id: frameId, payload };
}
