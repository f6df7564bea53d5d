import { WebSocket } from 'ws';
import {
  GatewayError,
  closeCodeOfReason,
  type CancelEvent,
  type FrameId,
  type MessageEvent,
  type ResultEvent,
  type ServerFrame,
  type SessionClosedEvent,
  type SessionEvent,
  type TopicMessageEvent,
} from '#libs/protocol';
import type { AgentConnection } from '#libs/routing';

/** How long a slow consumer has to take its close frame before the connection is cut. */
const SLOW_CONSUMER_GRACE_MS = 1_000;

/**
 * The routing core's view of one plain WebSocket connection (contract §4). The seed's protocol has
 * no acknowledgement of `message` frames, so a message counts as delivered once the frame has been
 * written to the agent's connection (the `ws` send callback); a connection that cannot take it
 * within the delivery time-out gets TIMEOUT, a closed one AGENT_NOT_FOUND.
 */
export class WebSocketConnection implements AgentConnection {
  readonly transport = 'websocket' as const;
  /** Answered by the transport's keep-alive: a connection that misses a pong is dropped. */
  alive = true;

  constructor(private readonly socket: WebSocket) {}

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  sendSession(event: SessionEvent): void {
    this.send({ type: 'session', ...event });
  }

  deliverMessage(event: MessageEvent, timeoutMs: number): Promise<void> {
    if (!this.open) return Promise.reject(new GatewayError('AGENT_NOT_FOUND', 'the recipient disconnected'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new GatewayError('TIMEOUT', `the recipient's connection did not take the message within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.socket.send(JSON.stringify({ type: 'message', ...event } satisfies ServerFrame), (error) => {
        clearTimeout(timer);
        if (error) reject(new GatewayError('AGENT_NOT_FOUND', 'the recipient disconnected before the message was written'));
        else resolve();
      });
    });
  }

  deliverResult(event: ResultEvent): void {
    this.send({ type: 'result', ...event });
  }

  deliverTopicMessage(event: TopicMessageEvent): void {
    this.send({ type: 'topic_message', ...event });
  }

  deliverCancel(event: CancelEvent): void {
    this.send({ type: 'cancel', ...event });
  }

  /** `{ type: "ack", id, ...fields }`: the answer to a client frame that carried an `id`. */
  sendAck(id: FrameId, ack: object): void {
    this.send({ type: 'ack', id, ...ack });
  }

  /** `{ type: "error", id?, code, message, retry_after_ms? }`. */
  sendError(id: FrameId | undefined, error: GatewayError): void {
    this.send({ type: 'error', ...(id !== undefined && { id }), ...error.toBody() });
  }

  /**
   * `session_closed`, then a close frame whose code tells the client whether to reconnect. A client
   * that does not read (a slow consumer) never answers the close frame: it is cut a second later.
   */
  close(event: SessionClosedEvent): void {
    this.send({ type: 'session_closed', ...event });
    this.socket.close(closeCodeOfReason(event.reason), event.reason);
    if (event.reason === 'slow_consumer') setTimeout(() => this.socket.terminate(), SLOW_CONSUMER_GRACE_MS).unref();
  }

  backlogBytes(): number {
    return this.socket.bufferedAmount;
  }

  /** Sends a WebSocket ping (the keep-alive). */
  ping(): void {
    if (this.open) this.socket.ping();
  }

  /** Drops the connection without a close handshake (a dead peer, or the process stopping). */
  terminate(): void {
    this.socket.terminate();
  }

  /** Refuses a connection at connect time: an `error` frame, then the close code for it. */
  refuse(error: GatewayError, code: number): void {
    this.sendError(undefined, error);
    this.socket.close(code, error.code);
  }

  private send(frame: ServerFrame): void {
    if (this.open) this.socket.send(JSON.stringify(frame));
  }
}
