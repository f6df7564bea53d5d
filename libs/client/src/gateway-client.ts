import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { context } from '@opentelemetry/api';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import {
  GATEWAY_NAMESPACE,
  GatewayError,
  isErrorAck,
  isErrorCode,
  isTerminalDisconnect,
  type AgentCard,
  type CancelEvent,
  type ClientAcks,
  type ClientEventName,
  type ClientPayloads,
  type ContentPart,
  type HeartbeatAck,
  type MessageEvent,
  type PingAck,
  type RefreshAck,
  type ResultEvent,
  type SendAck,
  type SessionClosedEvent,
  type SessionEvent,
  type TopicMessageEvent,
  type PublishAck,
  type TopicAck,
  type TraceContext,
  type UpdateCardPayload,
} from '#libs/protocol';
import { fullJitterDelay, type BackoffOptions } from './backoff.js';
import { contextOfMessage, withTraceContext } from './trace-propagation.js';

/** Options of {@link GatewayClient}. */
export interface GatewayClientOptions {
  /** The gateway's agent plane, e.g. `http://localhost:8700` (or `https://…`). */
  url: string;
  /** The agent this client is; must be the one the credential is bound to. */
  agentId: string;
  /** An API token or OIDC access token; a function is called before every (re)connect. Omit with `none` or mTLS. */
  token?: string | (() => string | Promise<string>);
  agentName?: string;
  capabilities?: string[];
  /** Reconnect after a non-terminal disconnect (default: on, with full-jitter backoff). */
  reconnect?: false | BackoffOptions;
  /** How long to wait for the gateway's ack of an event (default 15 000 ms). */
  ackTimeoutMs?: number;
  /** Default `timeout_ms` of {@link GatewayClient.request} (default 30 000 ms). */
  requestTimeoutMs?: number;
  /** Passed to socket.io-client (TLS options such as `ca`, `cert`, `key`; `extraHeaders`). */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

/** Options of {@link GatewayClient.send}. */
export interface SendOptions {
  conversationId?: string;
  metadata?: Record<string, unknown>;
  /**
   * W3C trace context to send in `metadata.trace`. Without it (and without a `metadata.trace`), the
   * active OpenTelemetry span's context is sent when the application uses OpenTelemetry.
   */
  trace?: TraceContext;
}

/** Options of {@link GatewayClient.request}. */
export interface RequestOptions extends SendOptions {
  /** How long the gateway waits for the result before answering TIMEOUT. */
  timeoutMs?: number;
}

/** Where the client is in its life. */
export type ClientState = 'idle' | 'connecting' | 'connected' | 'ready' | 'closed';

/**
 * What a message handler returns: the `result` when the sender expects one. `signal` aborts when
 * the gateway sends `cancel` for the message's conversation (its result is then not sent).
 */
export type MessageHandler = (message: MessageEvent, context: { signal: AbortSignal }) => unknown;

/** The lifecycle hooks and inbound traffic of the client (seed 000's connection states). */
export interface GatewayClientEvents {
  /** A connection attempt starts. */
  connecting: [attempt: number];
  /** The transport is connected; the session is not yet ready. */
  connected: [];
  /** The gateway sent `session`: the client can send. */
  ready: [session: SessionEvent];
  /** The connection ended; `reconnect` says whether the client will try again. */
  disconnected: [reason: string, details: { message: string; reconnect: boolean }];
  /** A connection attempt failed (refused by the gateway, or the network). */
  connection_error: [error: GatewayError | Error];
  /** The next attempt is scheduled. */
  reconnecting: [attempt: number, delayMs: number];
  /** A direct message arrived (after the handler, if any, was started). */
  message: [message: MessageEvent];
  /** A result arrived (also resolves the matching {@link GatewayClient.request}). */
  result: [result: ResultEvent];
  /** A message published on a topic this client subscribed to. */
  topic_message: [message: TopicMessageEvent];
  /** Whoever awaited the result of a conversation gave up (an A2A `CancelTask`). */
  cancel: [event: CancelEvent];
}

const TERMINAL_CONNECT_CODES = new Set(['UNAUTHORIZED', 'FORBIDDEN', 'INVALID_MESSAGE']);

interface PendingRequest {
  resolve: (result: ResultEvent) => void;
  reject: (error: GatewayError) => void;
  timer: NodeJS.Timeout;
}

/**
 * The TypeScript SDK for agents: connects to the gateway over socket.io, keeps the session alive
 * with heartbeats, reconnects with full-jitter backoff unless the gateway said not to, and offers
 * `send`, `request` (send and await the result) and a message handler whose return value becomes
 * the result.
 *
 * @example
 * const client = new GatewayClient({ url: 'http://localhost:8700', agentId: 'worker-1', token });
 * client.onMessage(async (m) => ({ echoed: m.content }));
 * await client.connect();
 * const answer = await client.request('worker-2', [{ type: 'text', text: 'hello' }]);
 */
export class GatewayClient extends EventEmitter<GatewayClientEvents> {
  private socket: Socket | null = null;
  private stateValue: ClientState = 'idle';
  private sessionValue: SessionEvent | null = null;
  private handler: MessageHandler | null = null;
  private cancelHandler: ((event: CancelEvent) => void) | null = null;
  /** The handlers running for messages that await a result, by conversation: a `cancel` aborts them. */
  private readonly running = new Map<string, AbortController>();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private closedByGateway: SessionClosedEvent | null = null;
  private readonly pending = new Map<string, PendingRequest>();
  private readonly subscriptions = new Map<string, ((message: TopicMessageEvent) => void) | null>();
  private readyWaiters: { resolve: (s: SessionEvent) => void; reject: (e: Error) => void }[] = [];

  constructor(private readonly options: GatewayClientOptions) {
    super();
  }

  get state(): ClientState {
    return this.stateValue;
  }

  /** The current session, when ready. */
  get session(): SessionEvent | null {
    return this.sessionValue;
  }

  /** Sets the handler of direct messages. Its return value (or thrown error) becomes the `result` when the sender expects one. */
  onMessage(handler: MessageHandler): this {
    this.handler = handler;
    return this;
  }

  /**
   * Sets the hook called when the gateway cancels a conversation (an A2A client's `CancelTask`):
   * the running handler's `signal` is aborted first, and no result is sent for it.
   */
  onCancel(handler: (event: CancelEvent) => void): this {
    this.cancelHandler = handler;
    return this;
  }

  /**
   * Connects and resolves once the session is ready. Rejects if the gateway refuses for good
   * (bad credential) or reconnection is off and the attempt fails.
   */
  connect(): Promise<SessionEvent> {
    if (this.stateValue === 'ready' && this.sessionValue) return Promise.resolve(this.sessionValue);
    const ready = new Promise<SessionEvent>((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
    if (this.stateValue === 'idle' || this.stateValue === 'closed') {
      this.attempt = 0;
      this.open();
    }
    return ready;
  }

  /** Sends a direct message; resolves when the recipient's client has acknowledged it. */
  send(toAgentId: string, content: ContentPart[] | string, options: SendOptions = {}): Promise<SendAck> {
    const metadata = withTraceContext(options.metadata, options.trace);
    return this.call('send', {
      to_agent_id: toAgentId,
      content: normalizeContent(content),
      ...(options.conversationId !== undefined && { conversation_id: options.conversationId }),
      ...(metadata !== undefined && { metadata }),
    });
  }

  /**
   * Sends a message that expects a result and resolves with it. Rejects with `TIMEOUT` when the
   * recipient does not answer within `timeoutMs`, or with the delivery's error.
   */
  async request(toAgentId: string, content: ContentPart[] | string, options: RequestOptions = {}): Promise<ResultEvent> {
    const conversationId = options.conversationId ?? randomUUID();
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? 30_000;
    if (this.pending.has(conversationId))
      throw new GatewayError('INVALID_MESSAGE', `a request on conversation "${conversationId}" is already pending`);
    const result = new Promise<ResultEvent>((resolve, reject) => {
      // A safety net in case the gateway's TIMEOUT result is lost with the connection.
      const timer = setTimeout(
        () => {
          this.pending.delete(conversationId);
          reject(new GatewayError('TIMEOUT', `no result within ${timeoutMs} ms`));
        },
        timeoutMs + (this.options.ackTimeoutMs ?? 15_000),
      );
      this.pending.set(conversationId, { resolve, reject, timer });
    });
    const metadata = withTraceContext(options.metadata, options.trace);
    try {
      await this.call('send', {
        to_agent_id: toAgentId,
        conversation_id: conversationId,
        content: normalizeContent(content),
        expect_result: true,
        timeout_ms: timeoutMs,
        ...(metadata !== undefined && { metadata }),
      });
    } catch (error) {
      this.settle(conversationId, error as GatewayError);
      throw error;
    }
    return result;
  }

  /**
   * Swaps in a new credential of the same agent; resolves with the session's new expiry. Called by
   * the client itself before expiry when `token` is a function.
   */
  async refresh(token?: string): Promise<RefreshAck> {
    const next = token ?? (typeof this.options.token === 'function' ? await this.options.token() : undefined);
    if (next === undefined) throw new GatewayError('INVALID_MESSAGE', 'refresh needs a token (or a token function in the options)');
    const ack = await this.call('refresh', { token: next });
    if (this.sessionValue) this.sessionValue = { ...this.sessionValue, expires_at: ack.expires_at };
    this.scheduleRefresh(ack.expires_at);
    return ack;
  }

  /**
   * Subscribes to a topic of this agent's tenant. The subscription is renewed after every
   * reconnect; `handler`, if given, receives its messages (they are also emitted as `topic_message`).
   */
  async subscribe(topic: string, handler?: (message: TopicMessageEvent) => void): Promise<TopicAck> {
    const ack = await this.call('subscribe', { topic });
    this.subscriptions.set(topic, handler ?? null);
    return ack;
  }

  async unsubscribe(topic: string): Promise<TopicAck> {
    this.subscriptions.delete(topic);
    return this.call('unsubscribe', { topic });
  }

  /** Publishes to every subscriber of a topic of this agent's tenant; resolves with how many it reached. */
  publish(topic: string, content: ContentPart[] | string, metadata?: Record<string, unknown>): Promise<PublishAck> {
    const traced = withTraceContext(metadata);
    return this.call('publish', { topic, content: normalizeContent(content), ...(traced !== undefined && { metadata: traced }) });
  }

  heartbeat(): Promise<HeartbeatAck> {
    return this.call('heartbeat', { timestamp: new Date().toISOString() });
  }

  ping(): Promise<PingAck> {
    return this.call('ping', {});
  }

  updateCard(update: UpdateCardPayload): Promise<AgentCard> {
    return this.call('update_card', update);
  }

  /** Disconnects for good: no reconnect, pending requests rejected. */
  async close(): Promise<void> {
    this.stateValue = 'closed';
    this.stopTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.removeAllListeners();
      socket.disconnect();
    }
    this.failPending(new GatewayError('UNAVAILABLE', 'client closed'));
    this.rejectReadyWaiters(new GatewayError('UNAVAILABLE', 'client closed'));
    await Promise.resolve();
  }

  /** Emits one client event and returns its ack, or throws the gateway's refusal. */
  async call<E extends ClientEventName>(event: E, payload: ClientPayloads[E]): Promise<ClientAcks[E]> {
    const socket = this.socket;
    if (!socket || this.stateValue !== 'ready') throw new GatewayError('UNAVAILABLE', 'not connected to the gateway');
    let response: unknown;
    try {
      response = await socket.timeout(this.options.ackTimeoutMs ?? 15_000).emitWithAck(event, payload);
    } catch {
      throw new GatewayError('TIMEOUT', `the gateway did not acknowledge "${event}" in time`);
    }
    if (isErrorAck(response)) throw GatewayError.fromBody(response.error);
    return response as ClientAcks[E];
  }

  private open(): void {
    this.stateValue = 'connecting';
    this.closedByGateway = null;
    this.emit('connecting', this.attempt);
    const socket =
      this.socket ??
      io(new URL(GATEWAY_NAMESPACE, this.options.url).toString(), {
        ...this.options.socketOptions,
        transports: this.options.socketOptions?.transports ?? ['websocket'],
        reconnection: false,
        autoConnect: false,
        auth: (cb) => {
          this.authPayload().then(cb, (error: Error) => {
            this.emit('connection_error', error);
            cb({ agent_id: this.options.agentId });
          });
        },
      });
    if (!this.socket) {
      this.socket = socket;
      this.wire(socket);
    }
    socket.connect();
  }

  private async authPayload(): Promise<Record<string, unknown>> {
    const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    return {
      agent_id: this.options.agentId,
      ...(token !== undefined && { token }),
      ...(this.options.agentName !== undefined && { agent_name: this.options.agentName }),
      ...(this.options.capabilities !== undefined && { capabilities: this.options.capabilities }),
    };
  }

  private wire(socket: Socket): void {
    socket.on('connect', () => {
      this.stateValue = 'connected';
      this.emit('connected');
    });
    socket.on('session', (session: SessionEvent) => {
      this.sessionValue = session;
      this.stateValue = 'ready';
      this.attempt = 0;
      this.startHeartbeats(session.heartbeat_interval_s);
      this.scheduleRefresh(session.expires_at);
      const waiters = this.readyWaiters;
      this.readyWaiters = [];
      for (const waiter of waiters) waiter.resolve(session);
      this.emit('ready', session);
      for (const topic of this.subscriptions.keys()) this.call('subscribe', { topic }).catch(() => undefined);
    });
    socket.on('session_closed', (event: SessionClosedEvent) => {
      this.closedByGateway = event;
    });
    socket.on('message', (message: MessageEvent, ack?: (response: { status: 'received' }) => void) => {
      ack?.({ status: 'received' });
      this.onInboundMessage(message);
    });
    socket.on('result', (result: ResultEvent) => {
      const error = result.error as { code?: unknown; message?: unknown } | undefined;
      if (!result.success && error && isErrorCode(error.code) && error.code === 'TIMEOUT') {
        this.settle(
          result.conversation_id,
          new GatewayError('TIMEOUT', typeof error.message === 'string' ? error.message : 'no result in time'),
        );
      } else {
        this.settle(result.conversation_id, result);
      }
      this.emit('result', result);
    });
    socket.on('topic_message', (message: TopicMessageEvent) => {
      this.subscriptions.get(message.topic)?.(message);
      this.emit('topic_message', message);
    });
    socket.on('cancel', (event: CancelEvent) => {
      this.running.get(event.conversation_id)?.abort(new Error(`canceled: ${event.reason}`));
      this.cancelHandler?.(event);
      this.emit('cancel', event);
    });
    socket.on('connect_error', (error: Error & { data?: unknown }) => {
      const data = error.data as { code?: unknown; message?: unknown; retry_after_ms?: unknown } | undefined;
      const refusal =
        data && isErrorCode(data.code)
          ? GatewayError.fromBody({
              code: data.code,
              message: typeof data.message === 'string' ? data.message : error.message,
              ...(typeof data.retry_after_ms === 'number' && { retry_after_ms: data.retry_after_ms }),
            })
          : null;
      this.emit('connection_error', refusal ?? error);
      const terminal = refusal !== null && TERMINAL_CONNECT_CODES.has(refusal.code);
      this.afterLoss(terminal, refusal?.message ?? error.message, refusal?.retryAfterMs, refusal ?? error);
    });
    socket.on('disconnect', (reason: string) => {
      this.stopHeartbeats();
      if (this.refreshTimer) clearTimeout(this.refreshTimer);
      this.sessionValue = null;
      if (this.stateValue === 'closed') return;
      if (this.stateValue === 'connecting') {
        // The transport closed before the gateway admitted this attempt (socket.io reports it as a
        // disconnect; a node stopping while it admits does that): a failed attempt, not an ended connection.
        const error = new Error(`the connection closed before the gateway admitted it (${reason})`);
        this.emit('connection_error', error);
        this.afterLoss(false, error.message, undefined, error);
        return;
      }
      const byGateway = this.closedByGateway;
      const name = byGateway?.reason ?? reason;
      const terminal = byGateway ? this.isTerminal(byGateway.reason) : false;
      this.failPending(new GatewayError('UNAVAILABLE', `disconnected: ${name}`));
      this.emit('disconnected', name, { message: byGateway?.message ?? reason, reconnect: !terminal && this.options.reconnect !== false });
      this.afterLoss(terminal, byGateway?.message ?? reason);
    });
  }

  private isTerminal(reason: string): boolean {
    // An expired credential is worth a retry when the client can fetch a fresh one.
    if (reason === 'expired' && typeof this.options.token === 'function') return false;
    return isTerminalDisconnect(reason);
  }

  private afterLoss(terminal: boolean, message: string, retryAfterMs?: number, error?: Error): void {
    if (this.stateValue === 'closed') return;
    const maxAttempts = this.options.reconnect === false ? 0 : (this.options.reconnect?.maxAttempts ?? Infinity);
    if (terminal || this.attempt >= maxAttempts) {
      this.stateValue = 'closed';
      this.rejectReadyWaiters(error ?? new GatewayError('UNAVAILABLE', message));
      return;
    }
    const backoff = this.options.reconnect === false ? {} : (this.options.reconnect ?? {});
    const delay = Math.max(fullJitterDelay(this.attempt, backoff), retryAfterMs ?? 0);
    this.attempt++;
    this.stateValue = 'connecting';
    this.emit('reconnecting', this.attempt, delay);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.stateValue !== 'closed') this.open();
    }, delay);
  }

  private onInboundMessage(message: MessageEvent): void {
    const handler = this.handler;
    this.emit('message', message);
    if (!handler) return;
    const controller = new AbortController();
    const conversation = message.conversation_id;
    if (message.expect_result) this.running.set(conversation, controller);
    const answers = (): boolean => message.expect_result && !controller.signal.aborted;
    // The handler runs in the message's trace (the gateway's delivery span), and its result goes
    // back in it: the application's active span if it made one, the message's context otherwise.
    const trace = contextOfMessage(message.metadata);
    const metadata = (): Record<string, unknown> | undefined =>
      context.with(trace, () => withTraceContext(undefined, message.metadata.trace as TraceContext | undefined));
    Promise.resolve()
      .then(() => context.with(trace, () => handler(message, { signal: controller.signal })))
      .then(
        (value) =>
          answers() ? this.answer({ conversation_id: conversation, success: true, result: value ?? null }, metadata()) : undefined,
        (error: unknown) =>
          answers()
            ? this.answer(
                {
                  conversation_id: conversation,
                  success: false,
                  error: { code: 'AGENT_ERROR', message: (error as Error)?.message ?? String(error) },
                },
                metadata(),
              )
            : undefined,
      )
      .catch(() => undefined)
      .finally(() => {
        if (this.running.get(conversation) === controller) this.running.delete(conversation);
      });
  }

  private async answer(result: ClientPayloads['result'], metadata: Record<string, unknown> | undefined): Promise<void> {
    try {
      await this.call('result', metadata === undefined ? result : { ...result, metadata });
    } catch {
      // The requester left or the connection dropped: it will see a TIMEOUT.
    }
  }

  private startHeartbeats(intervalS: number): void {
    this.stopHeartbeats();
    this.heartbeatTimer = setInterval(() => {
      this.heartbeat().catch(() => undefined);
    }, intervalS * 1000);
    this.heartbeatTimer.unref?.();
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  /** With a token function, refreshes at 80% of the credential's remaining life. */
  private scheduleRefresh(expiresAt: string | null): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    if (expiresAt === null || typeof this.options.token !== 'function') return;
    const remaining = Date.parse(expiresAt) - Date.now();
    if (!(remaining > 0) || remaining > 2 ** 31 - 1) return;
    this.refreshTimer = setTimeout(
      () => {
        this.refresh().catch(() => undefined);
      },
      Math.floor(remaining * 0.8),
    );
    this.refreshTimer.unref?.();
  }

  private stopTimers(): void {
    this.stopHeartbeats();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private settle(conversationId: string, outcome: ResultEvent | GatewayError): void {
    const pending = this.pending.get(conversationId);
    if (!pending) return;
    this.pending.delete(conversationId);
    clearTimeout(pending.timer);
    if (outcome instanceof GatewayError) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  private failPending(error: GatewayError): void {
    for (const id of [...this.pending.keys()]) this.settle(id, error);
  }

  private rejectReadyWaiters(error: Error): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }
}

function normalizeContent(content: ContentPart[] | string): ContentPart[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}
