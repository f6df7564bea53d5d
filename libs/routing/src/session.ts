import type { CredentialTransport, Principal } from '#libs/auth';
import type {
  AgentCard,
  CancelEvent,
  MessageEvent,
  ResultEvent,
  SessionClosedEvent,
  SessionEvent,
  TopicMessageEvent,
  TraceContext,
  TransportName,
} from '#libs/protocol';

/**
 * The port a transport implements for one live connection. The routing core talks to agents only
 * through this; it never touches a socket.
 */
export interface AgentConnection {
  readonly transport: Exclude<TransportName, 'http'>;
  sendSession(event: SessionEvent): void;
  /** Emits `message` and resolves once the client acknowledges it; rejects with TIMEOUT after `timeoutMs`. */
  deliverMessage(event: MessageEvent, timeoutMs: number): Promise<void>;
  deliverResult(event: ResultEvent): void;
  deliverTopicMessage(event: TopicMessageEvent): void;
  /** Tells the agent nobody awaits the result of a conversation any more (no ack). */
  deliverCancel(event: CancelEvent): void;
  /** Tells the client why (`session_closed`) and drops the connection. */
  close(event: SessionClosedEvent): void;
  /**
   * Bytes written to this connection that the client has not read yet, as far as the transport
   * can tell. Past `SEND_BUFFER_LIMIT_BYTES` the session is closed with `slow_consumer`.
   */
  backlogBytes(): number;
}

/** A session admitted but not yet attached to its connection. */
export interface AdmittedSession {
  id: string;
  principal: Principal;
  card: AgentCard;
  remoteAddress: string;
  connectedAt: Date;
}

/** A live agent connection on this node. */
export class Session {
  readonly id: string;
  /** Changes only through {@link Session.adopt} (a `refresh`) or an agent update. */
  principal: Principal;
  readonly tenantId: string;
  readonly agentId: string;
  readonly remoteAddress: string;
  readonly connectedAt: Date;
  card: AgentCard;
  /** Last frame of any kind (ms since epoch): what the silence time-out measures. */
  lastSeenAt: number;
  /** Last `heartbeat` event. */
  lastHeartbeatAt: Date;
  /**
   * When this session's directory entry was last written (ms since epoch: its claim, then the
   * sweep's refreshes) and the heartbeat it then held: the sweep rewrites an entry only when the
   * heartbeat changed or its TTL needs it (PresenceSweep).
   */
  presenceWrittenAt: number;
  presenceHeartbeatAt: Date;
  expiresAt: Date | null;
  closed = false;
  /** Messages delivered to this session that its client has not acknowledged yet. */
  deliveriesInFlight = 0;
  /** This session as the author of the events it sends. */
  readonly caller: Caller;

  constructor(
    admitted: AdmittedSession,
    readonly connection: AgentConnection,
  ) {
    this.id = admitted.id;
    this.principal = admitted.principal;
    this.tenantId = admitted.principal.tenantId;
    this.agentId = admitted.principal.agentId;
    this.remoteAddress = admitted.remoteAddress;
    this.connectedAt = admitted.connectedAt;
    this.card = admitted.card;
    this.lastSeenAt = admitted.connectedAt.getTime();
    this.lastHeartbeatAt = admitted.connectedAt;
    // Claimed during the admission, which started at `connectedAt`: no later than that.
    this.presenceWrittenAt = admitted.connectedAt.getTime();
    this.presenceHeartbeatAt = admitted.connectedAt;
    this.expiresAt = admitted.principal.expiresAt;
    this.caller = {
      principal: admitted.principal,
      tenantId: this.tenantId,
      agentId: this.agentId,
      session: this,
      remoteAddress: this.remoteAddress,
      transport: connection.transport,
    };
  }

  /** Takes a new principal of the same agent (after `refresh`, or when its registration changed). */
  adopt(principal: Principal): void {
    if (principal.agentId !== this.agentId || principal.tenantId !== this.tenantId) throw new Error('a session cannot change agents');
    this.principal = principal;
    this.caller.principal = principal;
    this.expiresAt = principal.expiresAt;
  }
}

/** The protocols a caller without a session speaks on top of HTTP. */
export type CallerProtocol = 'a2a' | 'mcp';

/** Who is acting: a live session, or an authenticated HTTP caller without one. */
export interface Caller {
  principal: Principal;
  tenantId: string;
  agentId: string;
  session: Session | null;
  remoteAddress: string;
  transport: CredentialTransport;
  /**
   * For an HTTP caller speaking A2A or MCP: that protocol, and what its audit records add about the
   * request (the A2A method and task id, the MCP tool). Absent for the agent plane's own transports.
   */
  protocol?: { name: CallerProtocol; details: Record<string, unknown> };
  /**
   * For an HTTP caller: the W3C trace context of its request's `traceparent`/`tracestate` headers,
   * continued by its events as a socket client's `metadata.trace` is.
   */
  trace?: TraceContext;
}

/**
 * What every audit record of a caller's message says about how it came: `protocol` (the caller's
 * transport, or A2A / MCP) and that protocol's own details.
 */
export function protocolDetails(caller: Caller): Record<string, unknown> {
  return caller.protocol ? { protocol: caller.protocol.name, ...caller.protocol.details } : { protocol: caller.transport };
}
