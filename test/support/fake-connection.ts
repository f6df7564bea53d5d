import type { AgentConnection } from '#libs/routing';
import {
  GatewayError,
  type CancelEvent,
  type MessageEvent,
  type ResultEvent,
  type SessionClosedEvent,
  type SessionEvent,
  type TopicMessageEvent,
} from '#libs/protocol';

/** How a {@link FakeConnection} answers a `message`. */
export type FakeAck = 'at_once' | 'never';

/**
 * A fake `AgentConnection` (the port every transport implements) for medium tests: it records what
 * the routing core sends and acks messages like a client that reads at once, or never (the delivery
 * then times out with `TIMEOUT`, as the real transports do). No socket.
 */
export class FakeConnection implements AgentConnection {
  readonly transport: 'socket.io' | 'websocket';
  session: SessionEvent | null = null;
  readonly messages: MessageEvent[] = [];
  readonly results: ResultEvent[] = [];
  readonly topicMessages: TopicMessageEvent[] = [];
  readonly cancels: CancelEvent[] = [];
  readonly closed: SessionClosedEvent[] = [];
  /** What {@link backlogBytes} reports (a client that stopped reading holds more). */
  backlog = 0;
  private gone = false;

  constructor(private readonly options: { transport?: 'socket.io' | 'websocket'; ack?: FakeAck } = {}) {
    this.transport = options.transport ?? 'socket.io';
  }

  sendSession(event: SessionEvent): void {
    this.session = event;
  }

  deliverMessage(event: MessageEvent, timeoutMs: number): Promise<void> {
    if (this.gone) return Promise.reject(new GatewayError('AGENT_NOT_FOUND', 'the recipient disconnected'));
    this.messages.push(event);
    if (this.options.ack === 'never') {
      return new Promise((_resolve, reject) =>
        setTimeout(() => reject(new GatewayError('TIMEOUT', `no ack within ${timeoutMs} ms`)), timeoutMs).unref(),
      );
    }
    return Promise.resolve();
  }

  deliverResult(event: ResultEvent): void {
    if (!this.gone) this.results.push(event);
  }

  deliverTopicMessage(event: TopicMessageEvent): void {
    if (!this.gone) this.topicMessages.push(event);
  }

  deliverCancel(event: CancelEvent): void {
    if (!this.gone) this.cancels.push(event);
  }

  close(event: SessionClosedEvent): void {
    this.closed.push(event);
    this.gone = true;
  }

  backlogBytes(): number {
    return this.backlog;
  }

  /** The client went away (the transport then calls `SessionLifecycle.detach`). */
  drop(): void {
    this.gone = true;
  }
}
