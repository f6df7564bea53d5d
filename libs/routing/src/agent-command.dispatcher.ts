import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditTrail } from '#libs/audit';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService, RefusalLog } from '#libs/observability';
import {
  CLIENT_PAYLOAD_SCHEMAS,
  GatewayError,
  describeSchemaError,
  exceedsJsonDepth,
  isClientEventName,
  type ClientAcks,
  type ClientEventName,
  type ClientPayloads,
  type ErrorCode,
  type ResultEvent,
  type SendAck,
  type SendPayload,
} from '#libs/protocol';
import { SPANS, SpanKind, tracing } from '#libs/telemetry';
import { MESSAGE_GUARDS, type MessageContext, type MessageGuard } from './guards.js';
import { RoutingService } from './routing.service.js';
import { protocolDetails, type Caller, type Session } from './session.js';
import { SessionCards } from './sessions/session-cards.js';
import { SessionLifecycle } from './sessions/session-lifecycle.js';
import { SessionRefresh } from './sessions/session-refresh.js';
import { TopicService } from './topic.service.js';
import { clientTrace, eventAttributes, traceDetails } from './trace-attributes.js';

/** Events that carry a message: a refusal of one is audited even when no guard did it. */
const MESSAGE_EVENTS = new Set(['send', 'publish', 'result']);
/** Refusals of a frame's shape, decided before the guards ran: still counted by the rate limit. */
const REFUSED_BEFORE_GUARDS = new Set<ErrorCode>(['INVALID_MESSAGE', 'PAYLOAD_TOO_LARGE']);
/** Events whose handling is routing (a span of its own when traced). */
const ROUTED_EVENTS = new Set<ClientEventName>(['send', 'publish', 'result']);
/** Failures of the gateway or the recipient rather than refusals of the sender's request. */
const ERROR_OUTCOMES = new Set<ErrorCode>(['UNAVAILABLE', 'TIMEOUT']);

/**
 * The one pipeline every client event goes through, whatever the transport:
 * size → nesting depth → schema → guards (authorization, rate limit) → handler. Returns the
 * success ack or throws a `GatewayError` carrying a `request_id` that is also on the refusal's log
 * line and in its audit record; anything else thrown becomes `UNAVAILABLE` under that id, logged
 * with its stack.
 */
@Injectable()
export class AgentCommandDispatcher {
  private readonly logger = new Logger('Dispatcher');

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(MESSAGE_GUARDS) private readonly guards: MessageGuard[],
    private readonly routing: RoutingService,
    private readonly sessions: SessionLifecycle,
    private readonly cards: SessionCards,
    private readonly refreshes: SessionRefresh,
    private readonly topics: TopicService,
    private readonly metrics: MetricsService,
    private readonly audit: AuditTrail,
    private readonly refusals: RefusalLog,
  ) {}

  async dispatch(caller: Caller, event: string, payload: unknown, frameBytes: number): Promise<ClientAcks[ClientEventName]> {
    if (!tracing.enabled) return this.process(caller, event, payload, frameBytes);
    // The event's span continues the client's trace (`metadata.trace`), or starts one.
    return tracing.run(
      SPANS.event(isClientEventName(event) ? event : 'invalid'),
      {
        kind: SpanKind.SERVER,
        parent: clientTrace(payload) ?? caller.trace,
        attributes: eventAttributes(caller, event, payload, frameBytes),
      },
      () => this.process(caller, event, payload, frameBytes),
    );
  }

  private async process(caller: Caller, event: string, payload: unknown, frameBytes: number): Promise<ClientAcks[ClientEventName]> {
    if (caller.session) caller.session.lastSeenAt = Date.now();
    let context: MessageContext | undefined;
    try {
      if (frameBytes > this.config.agentPlane.maxMessageBytes) {
        throw new GatewayError(
          'PAYLOAD_TOO_LARGE',
          `frame of ${frameBytes} bytes is over the limit of ${this.config.agentPlane.maxMessageBytes}`,
        );
      }
      if (!isClientEventName(event)) throw new GatewayError('INVALID_MESSAGE', `unknown event "${String(event).slice(0, 64)}"`);
      // Before anything walks or serializes the payload (zod, the audit hash, the delivery).
      if (exceedsJsonDepth(payload, this.config.limits.jsonDepth)) {
        throw new GatewayError('INVALID_MESSAGE', `${event}: nested deeper than ${this.config.limits.jsonDepth} levels (MAX_JSON_DEPTH)`);
      }
      const parsed = CLIENT_PAYLOAD_SCHEMAS[event].safeParse(payload);
      if (!parsed.success) throw new GatewayError('INVALID_MESSAGE', `${event}: ${describeSchemaError(parsed.error)}`);
      const checked: MessageContext = { caller, event, payload: parsed.data, frameBytes };
      context = checked;
      await this.guard(checked);
      return await (tracing.enabled && ROUTED_EVENTS.has(event)
        ? tracing.run(SPANS.route, {}, () => this.handle(checked))
        : this.handle(checked));
    } catch (error) {
      throw await this.refuse(caller, event, payload, frameBytes, context, error);
    }
  }

  /**
   * A `send` with `expect_result` from a caller without a session (A2A, MCP) through the same
   * pipeline as {@link dispatch}: resolves once the recipient's client acknowledged the message,
   * with the ack and the result to come (the recipient's, a TIMEOUT result after `timeout_ms`, or a
   * cancel's). `conversation_id` is the caller's (an A2A task id), so it can refer to it later.
   */
  async request(
    caller: Caller,
    payload: Omit<SendPayload, 'expect_result'> & { conversation_id: string },
    frameBytes: number,
  ): Promise<{ ack: SendAck; result: Promise<ResultEvent> }> {
    const timeoutMs = payload.timeout_ms ?? this.config.routing.defaultResultTimeoutMs;
    let result: Promise<ResultEvent>;
    try {
      result = this.routing.awaitResult(caller, payload.conversation_id, payload.to_agent_id, timeoutMs);
    } catch (error) {
      throw await this.refuse(caller, 'send', payload, frameBytes, undefined, error);
    }
    try {
      const ack = (await this.dispatch(caller, 'send', { ...payload, expect_result: true }, frameBytes)) as SendAck;
      return { ack, result };
    } catch (error) {
      this.routing.forgetAwait(caller, payload.conversation_id);
      throw error;
    }
  }

  /**
   * Counts a request that routes nothing (an A2A `GetTask`) against the caller's rate limit, as
   * every event is counted: RATE_LIMIT once over (noted and audited by the guard).
   */
  async charge(caller: Caller, event: string): Promise<void> {
    try {
      for (const guard of this.guards) await guard.checkRefused?.(caller, event);
    } catch (error) {
      if (error instanceof GatewayError) this.metrics.refusals.labels(error.code).inc();
      throw error;
    }
  }

  /** The refusal of an event as the client gets it: counted, noted under a request id, audited once. */
  private async refuse(
    caller: Caller,
    event: string,
    payload: unknown,
    frameBytes: number,
    context: MessageContext | undefined,
    error: unknown,
  ): Promise<GatewayError> {
    let refusal = this.toGatewayError(error, caller, event);
    let audited = context?.audited ?? false;
    if (!context && REFUSED_BEFORE_GUARDS.has(refusal.code)) {
      refusal = await this.chargeRefused(caller, String(event), refusal);
      // The rate-limit guard wrote its own `message.rate_limited` record.
      audited = refusal.code === 'RATE_LIMIT';
    }
    this.metrics.refusals.labels(refusal.code).inc();
    this.note(caller, String(event), refusal);
    if (!audited && MESSAGE_EVENTS.has(event)) this.auditRefusal(caller, event, payload, frameBytes, refusal);
    return refusal;
  }

  /**
   * The answer to a frame a transport could not even read (not JSON, binary, no event name): it is
   * counted by the rate limit like any event, and the refusal comes back (RATE_LIMIT once over).
   */
  async refuseFrame(caller: Caller, refusal: GatewayError, event = 'invalid_frame'): Promise<GatewayError> {
    if (caller.session) caller.session.lastSeenAt = Date.now();
    const answer = await this.chargeRefused(caller, event, refusal);
    this.metrics.refusals.labels(answer.code).inc();
    return this.note(caller, event, answer);
  }

  /** The refusal's request id and log line (once: a guard's refusal audited with its id keeps it). */
  private note(caller: Caller, event: string, refusal: GatewayError): GatewayError {
    return this.refusals.note(refusal, {
      where: event.slice(0, 64),
      agentId: caller.agentId,
      sessionId: caller.session?.id ?? null,
      remoteAddr: caller.remoteAddress,
    });
  }

  /**
   * Runs the guards' `checkRefused`. A RATE_LIMIT replaces the frame's own refusal; any other
   * failure there (the limiter's store down) leaves it, so the client still learns what was wrong.
   */
  private async chargeRefused(caller: Caller, event: string, refusal: GatewayError): Promise<GatewayError> {
    for (const guard of this.guards) {
      try {
        await guard.checkRefused?.(caller, event);
      } catch (error) {
        if (error instanceof GatewayError && error.code === 'RATE_LIMIT') return error;
      }
    }
    return refusal;
  }

  /**
   * A message that was not routed (malformed, too large, recipient not connected, delivery timed
   * out…) leaves a `message.denied` record; the guards write their own. Subject and ids are taken
   * from the frame only when they are strings, and cut to 256 characters.
   */
  private auditRefusal(caller: Caller, event: string, payload: unknown, frameBytes: number, refusal: GatewayError): void {
    const field = (name: string): string | null => {
      const value = payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>)[name] : undefined;
      return typeof value === 'string' ? value.slice(0, 256) : null;
    };
    const conversation = field('conversation_id');
    this.audit.record({
      action: 'message.denied',
      tenant_id: caller.tenantId,
      actor: { type: 'agent', id: caller.agentId },
      subject: field(event === 'publish' ? 'topic' : 'to_agent_id'),
      outcome: ERROR_OUTCOMES.has(refusal.code) ? 'error' : 'denied',
      reason: refusal.code,
      session_id: caller.session?.id ?? null,
      remote_addr: caller.remoteAddress,
      details: {
        ...protocolDetails(caller),
        event,
        frame_bytes: frameBytes,
        request_id: refusal.requestId,
        ...(refusal.reason !== undefined && { error_reason: refusal.reason }),
        ...(conversation !== null && { conversation_id: conversation }),
        ...traceDetails(clientTrace(payload) ?? caller.trace),
      },
    });
  }

  /** Runs the guards in order; when one refuses, the later ones marked `alsoOnRefusal` still run, and their refusal wins. */
  private async guard(context: MessageContext): Promise<void> {
    let refusal: unknown = null;
    for (const guard of this.guards) {
      if (refusal !== null && !guard.alsoOnRefusal) continue;
      try {
        await (tracing.enabled ? tracing.run(guard.spanName, {}, () => guard.check(context)) : guard.check(context));
      } catch (error) {
        refusal = error;
      }
    }
    if (refusal !== null) throw refusal;
  }

  private handle(context: MessageContext): Promise<ClientAcks[ClientEventName]> | ClientAcks[ClientEventName] {
    const { caller } = context;
    if (context.event === 'send') {
      if (!context.target) throw new Error('send reached the router without an authorized target');
      return this.routing.send(caller, context.payload as ClientPayloads['send'], context.target);
    }
    if (context.event === 'publish') return this.topics.publish(caller, context.payload as ClientPayloads['publish']);
    const session = this.requireSession(caller, context.event);
    switch (context.event) {
      case 'result':
        return this.routing.result(session, context.payload as ClientPayloads['result']);
      case 'heartbeat':
        return this.sessions.heartbeat(session);
      case 'ping':
        return { status: 'pong' };
      case 'update_card':
        return this.cards.update(session, context.payload as ClientPayloads['update_card']);
      case 'refresh':
        return this.refreshes.refresh(session, (context.payload as ClientPayloads['refresh']).token);
      case 'subscribe':
        return this.topics.subscribe(session, (context.payload as ClientPayloads['subscribe']).topic);
      case 'unsubscribe':
        return this.topics.unsubscribe(session, (context.payload as ClientPayloads['unsubscribe']).topic);
    }
  }

  private requireSession(caller: Caller, event: ClientEventName): Session {
    if (!caller.session) throw new GatewayError('INVALID_MESSAGE', `"${event}" needs a connected session`);
    return caller.session;
  }

  private toGatewayError(error: unknown, caller: Caller, event: string): GatewayError {
    if (error instanceof GatewayError) return error;
    const refusal = this.note(
      caller,
      event,
      new GatewayError('UNAVAILABLE', 'internal error; the gateway logged it under this request_id'),
    );
    this.logger.error(
      `unexpected failure handling "${event.slice(0, 64)}" of ${caller.agentId} (request_id ${refusal.requestId}): ${(error as Error)?.stack ?? String(error)}`,
    );
    return refusal;
  }
}
