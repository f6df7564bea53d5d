import type { SessionClosedEvent } from './disconnect-reasons.js';
import type { ErrorAck, ErrorBody } from './errors.js';
import type { ClientPayloads, ContentPart } from './payloads.js';

/** What the gateway and the directory know about an agent (the seed's agent card). */
export interface AgentCard {
  agent_id: string;
  agent_name: string;
  capabilities: string[];
  description: string | null;
  metadata: Record<string, unknown>;
}

/** Server→client `session`: sent once, right after the connection is accepted. */
export interface SessionEvent {
  session_id: string;
  agent: AgentCard;
  tenant_id: string;
  heartbeat_interval_s: number;
  heartbeat_timeout_s: number;
  /** When the session's credential expires (ISO-8601), or null when it does not. */
  expires_at: string | null;
  /** The largest frame the gateway accepts, in bytes. */
  max_message_bytes: number;
  node_id: string;
}

/** Server→client `message`: a direct message; the receiving client acknowledges it. */
export interface MessageEvent {
  message_id: string;
  from_agent_id: string;
  to_agent_id: string;
  conversation_id: string;
  content: ContentPart[];
  metadata: Record<string, unknown>;
  timestamp: string;
  /** True when the sender awaits a `result` for this conversation (an extension of the seed). */
  expect_result: boolean;
  /** When `expect_result`, the moment (ISO-8601) after which the sender gets a TIMEOUT instead. */
  result_deadline?: string;
}

/** Server→client `result`: the answer to a message this agent sent, or a TIMEOUT. */
export interface ResultEvent {
  conversation_id: string;
  from_agent_id: string;
  success: boolean;
  result?: unknown;
  error?: string | Record<string, unknown> | ErrorBody;
  metadata: Record<string, unknown>;
}

/**
 * Server→client `cancel`: whoever awaits the result of `conversation_id` gave up on it (an A2A
 * client's `CancelTask`). The agent may stop working on it; a `result` it sends later is dropped.
 * No acknowledgement is expected.
 */
export interface CancelEvent {
  conversation_id: string;
  from_agent_id: string;
  reason: string;
}

/** Server→client `topic_message`. */
export interface TopicMessageEvent {
  topic: string;
  message_id: string;
  from_agent_id: string;
  content: ContentPart[];
  metadata: Record<string, unknown>;
  timestamp: string;
}

/** Ack of `send` (also the body of `POST /gateway/send`, which omits nothing). */
export interface SendAck {
  message_id: string;
  conversation_id: string;
  status: 'delivered';
  timestamp: string;
}

/** Ack of `result`. */
export interface ResultAck {
  status: 'delivered';
}

/** Ack of `heartbeat`: the server's clock. */
export interface HeartbeatAck {
  timestamp: string;
}

/** Ack of `ping`. */
export interface PingAck {
  status: 'pong';
}

/** Ack of `subscribe` / `unsubscribe`. */
export interface TopicAck {
  topic: string;
  status: 'subscribed' | 'unsubscribed';
}

/** Ack of `publish`: how many subscribers the message reached. */
export interface PublishAck {
  message_id: string;
  recipients: number;
}

/** Ack of `refresh`. */
export interface RefreshAck {
  expires_at: string | null;
}

/** The success ack of each client→server event. */
export interface ClientAcks {
  send: SendAck;
  result: ResultAck;
  heartbeat: HeartbeatAck;
  ping: PingAck;
  subscribe: TopicAck;
  unsubscribe: TopicAck;
  publish: PublishAck;
  update_card: AgentCard;
  refresh: RefreshAck;
}

/** What an acknowledgement callback receives: the success ack or `{ error }`. */
export type Ack<E extends keyof ClientAcks> = ClientAcks[E] | ErrorAck;

/** socket.io typing for client→server events: each takes its payload and an ack callback. */
export type ClientToServerEvents = {
  [E in keyof ClientPayloads]: (payload: ClientPayloads[E], ack: (response: Ack<E>) => void) => void;
};

/** socket.io typing for server→client events. */
export interface ServerToClientEvents {
  session: (event: SessionEvent) => void;
  message: (event: MessageEvent, ack: (response: { status: 'received' }) => void) => void;
  result: (event: ResultEvent) => void;
  topic_message: (event: TopicMessageEvent) => void;
  cancel: (event: CancelEvent) => void;
  session_closed: (event: SessionClosedEvent) => void;
}

/** socket.io `auth` object of the handshake (contract §3). */
export interface HandshakeAuth {
  token?: string;
  agent_id?: string;
  agent_name?: string;
  capabilities?: string[];
}

/** `data` of a refused connection's `connect_error`. */
export type ConnectErrorData = ErrorBody;

/** The socket.io namespace of the agent plane. */
export const GATEWAY_NAMESPACE = '/gateway';

/** The size of an agent card as the directory stores it (its JSON in UTF-8), against `MAX_CARD_BYTES`. */
export function cardBytes(card: Pick<AgentCard, 'agent_name' | 'capabilities' | 'description' | 'metadata'>): number {
  return Buffer.byteLength(JSON.stringify(card));
}
