/**
 * Why the gateway closed a session. Sent to the client in the `session_closed` event just before
 * the connection is dropped (and, on the plain WebSocket transport, as the close reason).
 *
 * Terminal reasons mean "do not reconnect with the same credential": the SDK stops.
 */
export const DISCONNECT_REASONS = {
  /** The credential was revoked, the agent disabled or deleted, or an admin kicked the session. Terminal. */
  revoked: { terminal: true },
  /** The credential reached its expiry without a `refresh`. Terminal unless the client can get a new credential. */
  expired: { terminal: true },
  /** The credential is no longer accepted (for example its binding was removed). Terminal. */
  unauthorized: { terminal: true },
  /** Another connection authenticated as the same agent; the newest wins. Terminal, so two copies do not fight. */
  replaced: { terminal: true },
  /** No heartbeat within `heartbeat_timeout_s`. Reconnect. */
  heartbeat_timeout: { terminal: false },
  /** The node is shutting down (SIGTERM). Reconnect; the load balancer sends you to another node. */
  server_shutdown: { terminal: false },
  /** The client did not read what the gateway sent it: its send buffer passed `SEND_BUFFER_LIMIT_BYTES`. Reconnect, and read faster. */
  slow_consumer: { terminal: false },
} as const satisfies Record<string, { terminal: boolean }>;

/** One of the named reasons in {@link DISCONNECT_REASONS}. */
export type DisconnectReason = keyof typeof DISCONNECT_REASONS;

/** True when a client must not reconnect after this reason. */
export function isTerminalDisconnect(reason: string): boolean {
  return reason in DISCONNECT_REASONS && DISCONNECT_REASONS[reason as DisconnectReason].terminal;
}

/** Payload of the server→client `session_closed` event. */
export interface SessionClosedEvent {
  reason: DisconnectReason;
  message: string;
  /** Whether the client should reconnect (the inverse of "terminal"). */
  reconnect: boolean;
}
