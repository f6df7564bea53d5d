import {
  GatewayError,
  type MessageEvent,
  type ResultEvent,
  type SessionClosedEvent,
  type SessionEvent,
  type TopicMessageEvent,
} from '#libs/protocol';
import type { AgentConnection } from '#libs/routing';
import type { Socket } from 'socket.io';

/** The routing core's view of one socket.io connection. */
export class SocketIoConnection implements AgentConnection {
  readonly transport = 'socket.io' as const;
  private readonly pendingAcks = new Set<(error: GatewayError) => void>();

  constructor(private readonly socket: Socket) {
    socket.once('disconnect', () => {
      const gone = new GatewayError('AGENT_NOT_FOUND', 'the recipient disconnected before acknowledging the message');
      for (const reject of this.pendingAcks) reject(gone);
      this.pendingAcks.clear();
    });
  }

  sendSession(event: SessionEvent): void {
    this.socket.emit('session', event);
  }

  deliverMessage(event: MessageEvent, timeoutMs: number): Promise<void> {
    if (this.socket.disconnected) return Promise.reject(new GatewayError('AGENT_NOT_FOUND', 'the recipient disconnected'));
    return new Promise((resolve, reject) => {
      this.pendingAcks.add(reject);
      this.socket.timeout(timeoutMs).emit('message', event, (error: Error | null) => {
        this.pendingAcks.delete(reject);
        if (error) reject(new GatewayError('TIMEOUT', `the recipient did not acknowledge the message within ${timeoutMs} ms`));
        else resolve();
      });
    });
  }

  deliverResult(event: ResultEvent): void {
    this.socket.emit('result', event);
  }

  deliverTopicMessage(event: TopicMessageEvent): void {
    this.socket.emit('topic_message', event);
  }

  close(event: SessionClosedEvent): void {
    this.socket.emit('session_closed', event);
    this.socket.disconnect(true);
  }
}
