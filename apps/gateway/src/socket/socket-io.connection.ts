import {
  GatewayError,
  type CancelEvent,
  type MessageEvent,
  type ResultEvent,
  type SessionClosedEvent,
  type SessionEvent,
  type TopicMessageEvent,
} from '#libs/protocol';
import type { AgentConnection } from '#libs/routing';
import type { Socket } from 'socket.io';

const QUEUE_SAMPLE_STEP = 64;
/** How long a slow consumer has to take its `session_closed` before the connection is cut. */
const SLOW_CONSUMER_GRACE_MS = 1_000;

/** The parts of engine.io's socket that tell how much is waiting to be sent (not in its typings). */
interface EngineInternals {
  writeBuffer?: { data?: unknown }[];
  transport?: { socket?: { bufferedAmount?: number } };
}

/** The routing core's view of one socket.io connection. */
export class SocketIoConnection implements AgentConnection {
  readonly transport = 'socket.io' as const;
  private readonly pendingAcks = new Set<(error: GatewayError) => void>();
  private sampledLength = 0;
  private sampledBytes = 0;

  constructor(private readonly socket: Socket) {}

  /** The socket is gone (the transport calls this on `disconnect`): deliveries waiting for its ack fail. */
  disconnected(): void {
    if (this.pendingAcks.size === 0) return;
    const gone = new GatewayError('AGENT_NOT_FOUND', 'the recipient disconnected before acknowledging the message');
    for (const reject of this.pendingAcks) reject(gone);
    this.pendingAcks.clear();
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

  deliverCancel(event: CancelEvent): void {
    this.socket.emit('cancel', event);
  }

  /**
   * `session_closed`, then the disconnect. engine.io closes once its queue has drained; a slow
   * consumer that does not read within a second is cut and its queue discarded, as on the plain
   * WebSocket transport (one that reads again in time still gets `session_closed`, after what was
   * queued before it).
   */
  close(event: SessionClosedEvent): void {
    this.socket.emit('session_closed', event);
    this.socket.disconnect(true);
    if (event.reason === 'slow_consumer') setTimeout(() => this.socket.conn.close(true), SLOW_CONSUMER_GRACE_MS).unref();
  }

  /**
   * engine.io's queue of packets not yet handed to the transport, plus what the WebSocket holds.
   * Summing the queue costs its length, so past a few packets (a client that stopped reading) it
   * is re-summed only every {@link QUEUE_SAMPLE_STEP} packets.
   */
  backlogBytes(): number {
    const conn = this.socket.conn as unknown as EngineInternals;
    const queue = conn.writeBuffer ?? [];
    const inFlight = conn.transport?.socket?.bufferedAmount ?? 0;
    if (queue.length < QUEUE_SAMPLE_STEP || Math.abs(queue.length - this.sampledLength) >= QUEUE_SAMPLE_STEP) {
      this.sampledLength = queue.length;
      this.sampledBytes = queue.reduce((sum, packet) => sum + (typeof packet.data === 'string' ? packet.data.length : 0), 0);
    }
    return inFlight + this.sampledBytes;
  }
}
