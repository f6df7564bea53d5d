import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, Optional, type OnModuleInit } from '@nestjs/common';
import { AuditTrail } from '#libs/audit';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import {
  GatewayError,
  isoNow,
  limitExceeded,
  type CancelEvent,
  type MessageEvent,
  type ResultAck,
  type ResultEvent,
  type ResultPayload,
  type SendAck,
  type SendPayload,
} from '#libs/protocol';
import { SPANS, SpanKind, tracing } from '#libs/telemetry';
import { Backpressure } from './backpressure.js';
import { ClusterBus, type ClusterRequest } from './cluster.bus.js';
import { ClusterMembership } from './cluster-membership.js';
import { ConversationRepository } from './conversation.repository.js';
import { MessageCounterRepository } from './message-counter.repository.js';
import { PresenceRepository } from './presence.repository.js';
import { REMOTE_AGENTS, type RemoteAgent, type RemoteAgents } from './remote-agents.js';
import { ResultWaiters } from './result-waiters.js';
import { protocolDetails, type Caller, type Session } from './session.js';
import { SessionRegistry } from './session.registry.js';
import { clientTrace, traceDetails, withCallerTrace } from './trace-attributes.js';

/** A connected agent, wherever it is: on this node (`local`) or on another (`node`). */
export interface ResolvedAgent {
  tenantId: string;
  agentId: string;
  capabilities: readonly string[];
  local: Session | null;
  node: string;
  /** A remote A2A agent (registered with `a2a_url`, not connected): the gateway carries the message. */
  remote?: RemoteAgent;
}

// Time a node-to-node request may take on top of the delivery time-out itself.
const CLUSTER_MARGIN_MS = 2_000;
/** How long after its TIMEOUT a late result still finds its way back (the route's extra life). */
export const LATE_RESULT_GRACE_MS = 60_000;
// What a sender over a recipient's in-flight limit is told to wait before retrying.
const INFLIGHT_RETRY_MS = 250;

/**
 * Direct messages and their results, independent of transports: delivers to the recipient the
 * guards resolved and authorized (this node or another), waits for the recipient client's ack,
 * remembers the conversation when a result can follow, and times out expected results.
 *
 * Bounded per agent: the results an agent awaits (`MAX_PENDING_RESULTS_PER_AGENT`, their timers
 * kept per agent so a disconnect drops them without a scan) and the deliveries to an agent its
 * client has not acknowledged yet (`MAX_INFLIGHT_DELIVERIES_PER_AGENT`).
 */
@Injectable()
export class RoutingService implements OnModuleInit {
  private readonly logger = new Logger('Routing');
  /** Sender agent → conversation → the timer of the TIMEOUT result it is owed. */
  private readonly expectations = new Map<string, Map<string, NodeJS.Timeout>>();
  /** The results callers without a session (A2A, MCP) await on this node. */
  private readonly waiters = new ResultWaiters();
  private inflight = 0;
  private readonly routedMessages;
  private readonly routedResults;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly registry: SessionRegistry,
    private readonly presence: PresenceRepository,
    private readonly conversations: ConversationRepository,
    private readonly counters: MessageCounterRepository,
    private readonly cluster: ClusterBus,
    private readonly metrics: MetricsService,
    private readonly audit: AuditTrail,
    private readonly backpressure: Backpressure,
    private readonly membership: ClusterMembership,
    @Optional() @Inject(REMOTE_AGENTS) private readonly remotes: RemoteAgents | null = null,
  ) {
    this.routedMessages = metrics.routed.labels('message');
    this.routedResults = metrics.routed.labels('result');
  }

  onModuleInit(): void {
    this.cluster.handleRequests((request) => this.serveClusterRequest(request));
    this.cluster.handleSignals(
      'give_up',
      (signal) => void this.waiters.settle(signal.agent_id, signal.result.conversation_id, signal.result),
    );
  }

  /**
   * Awaits, for a caller without a session, the result of the conversation it is about to open with
   * a `send` with `expect_result` (register first: a fast recipient can answer before the send's
   * ack). Resolves with the recipient's result, a TIMEOUT result after `timeoutMs`, or the result
   * {@link giveUp} passes; the send must follow at once. Bounded by MAX_PENDING_RESULTS_PER_AGENT
   * together with the results the agent's sessions await.
   */
  awaitResult(caller: Caller, conversationId: string, targetId: string, timeoutMs: number): Promise<ResultEvent> {
    if (caller.session) throw new Error('a session awaits its results through its connection');
    this.checkPendingRoom(caller.agentId, conversationId);
    return this.waiters.add(caller.agentId, conversationId, timeoutMs, () => timeoutResult(conversationId, targetId, timeoutMs));
  }

  /** Forgets the waiter {@link awaitResult} registered when the send that was to follow was refused. */
  forgetAwait(caller: Caller, conversationId: string): void {
    this.waiters.forget(caller.agentId, conversationId);
  }

  /**
   * Ends the wait for a result on whichever node it is (`awaitingNode`) with `result` (a cancel),
   * and tells the recipient agent, wherever it is connected, with a `cancel` event. A result the
   * agent sends later finds nobody waiting and is refused.
   */
  async giveUp(agentId: string, awaitingNode: string, result: ResultEvent, recipient: ResolvedAgent | null, reason: string): Promise<void> {
    if (awaitingNode === this.cluster.nodeId) this.waiters.settle(agentId, result.conversation_id, result);
    else await this.cluster.signal(awaitingNode, { op: 'give_up', agent_id: agentId, result });
    if (!recipient) return;
    const event: CancelEvent = { conversation_id: result.conversation_id, from_agent_id: agentId, reason };
    if (recipient.local) this.deliverCancelHere(recipient.tenantId, recipient.agentId, event);
    else
      await this.cluster.request(
        recipient.node,
        { op: 'cancel', tenant_id: recipient.tenantId, to_agent_id: recipient.agentId, event },
        CLUSTER_MARGIN_MS,
      );
  }

  /** Deliveries waiting for a recipient's ack on this node (the drain waits for them). */
  get inflightCount(): number {
    return this.inflight;
  }

  /**
   * Finds a connected agent in any tenant: this node's sessions first, then presence. Whether the
   * caller may see it is the authorization guard's decision, not this lookup's.
   */
  async resolveAgent(agentId: string): Promise<ResolvedAgent> {
    const local = this.registry.forAgent(agentId);
    if (local && !local.closed) {
      return { tenantId: local.tenantId, agentId, capabilities: local.card.capabilities, local, node: this.cluster.nodeId };
    }
    let entry;
    try {
      entry = await this.presence.get(agentId);
    } catch (error) {
      throw new GatewayError('UNAVAILABLE', 'agent directory unavailable', { cause: error });
    }
    // An entry naming this node without a local session is stale (its session just ended); one
    // naming a node that stopped refreshing is its dead node's (reaped within NODE_TIMEOUT_S).
    if (!entry || entry.node_id === this.cluster.nodeId || !(await this.isLive(entry.node_id))) return this.resolveRemote(agentId);
    return { tenantId: entry.tenant_id, agentId, capabilities: entry.card.capabilities, local: null, node: entry.node_id };
  }

  /** Routes a direct message to an authorized target; resolves once the recipient's client acknowledged it. */
  async send(sender: Caller, payload: SendPayload, target: ResolvedAgent): Promise<SendAck> {
    const started = performance.now();
    const timestamp = isoNow();
    const conversationId = payload.conversation_id ?? randomUUID();
    // A caller without a session gets its result only through a waiter it registered on this node.
    const awaited = sender.session === null && this.waiters.has(sender.agentId, conversationId);
    const expectResult = payload.expect_result === true && (sender.session !== null || awaited);
    const awaitingNode = awaited ? this.cluster.nodeId : undefined;
    const timeoutMs = payload.timeout_ms ?? this.config.routing.defaultResultTimeoutMs;
    // A route is kept only when a result can follow: one is awaited, or the sender named the
    // conversation (the seed's clients answer those). A fire-and-forget send leaves nothing behind.
    const routeTtlMs = expectResult
      ? timeoutMs + LATE_RESULT_GRACE_MS
      : payload.conversation_id !== undefined
        ? this.config.routing.conversationTtlS * 1000
        : 0;
    if (expectResult && !awaited) this.checkPendingRoom(sender.agentId, conversationId);
    const message: MessageEvent = {
      message_id: randomUUID(),
      from_agent_id: sender.agentId,
      to_agent_id: payload.to_agent_id,
      conversation_id: conversationId,
      content: payload.content,
      metadata: withCallerTrace(sender, payload.metadata),
      timestamp,
      expect_result: expectResult,
    };
    if (expectResult) {
      message.result_deadline = new Date(Date.now() + timeoutMs).toISOString();
      // Armed before delivery: a fast recipient can answer before the delivery ack is back. (A
      // waiter has its own time-out.)
      if (!awaited) this.expect(sender.agentId, payload.to_agent_id, conversationId, timeoutMs);
    }
    // In flight until the ack can go out: a draining node waits for the audit record too.
    this.inflight++;
    // The record goes to Redis while the message is delivered (the sender hears `delivered` only
    // once it is there), and is withdrawn if the delivery fails.
    const record = this.audit.recordProvisionally({
      action: 'message.routed',
      tenant_id: sender.tenantId,
      actor: { type: 'agent', id: sender.agentId },
      subject: payload.to_agent_id,
      outcome: 'allowed',
      reason: null,
      session_id: sender.session?.id ?? null,
      remote_addr: sender.remoteAddress,
      details: sendDetails(sender, message, target, traceDetails(clientTrace(payload) ?? sender.trace)),
      content: payload.content,
    });
    try {
      try {
        if (target.remote && this.remotes) await this.remotes.deliver(message, target.remote, (result) => this.remoteReply(sender, result));
        else if (target.local) await this.deliverMessageHere(target.tenantId, message, routeTtlMs, awaitingNode);
        else
          await this.cluster.request(
            target.node,
            {
              op: 'deliver',
              tenant_id: target.tenantId,
              message,
              route_ttl_ms: routeTtlMs,
              ...(awaitingNode && { awaiting_node: awaitingNode }),
            },
            this.config.routing.deliveryTimeoutMs + CLUSTER_MARGIN_MS,
          );
      } catch (error) {
        record.withdraw();
        if (expectResult && !awaited) this.cancelExpectation(sender.agentId, conversationId);
        throw error;
      }
      record.keep();
      this.counters.increment(sender.tenantId);
      this.routedMessages.inc();
      this.metrics.deliverySeconds.observe((performance.now() - started) / 1000);
      // The record is in Redis (the durable queue) before the sender hears `delivered`.
      await record.durable;
    } finally {
      this.inflight--;
    }
    return { message_id: message.message_id, conversation_id: conversationId, status: 'delivered', timestamp };
  }

  /** A registered remote agent as a target, or the answer for an agent that is not connected. */
  private async resolveRemote(agentId: string): Promise<ResolvedAgent> {
    let remote: RemoteAgent | null;
    try {
      remote = (await this.remotes?.find(agentId)) ?? null;
    } catch (error) {
      throw new GatewayError('UNAVAILABLE', 'agent directory unavailable', { cause: error });
    }
    if (!remote) throw notConnected(agentId);
    return { tenantId: remote.tenantId, agentId, capabilities: remote.capabilities, local: null, node: this.cluster.nodeId, remote };
  }

  /** A remote agent's reply to `sender`, while its wait lasts (a session's expectation, or the waiter on this node). */
  private async remoteReply(sender: Caller, result: ResultEvent): Promise<boolean> {
    if (sender.session === null) return this.waiters.settle(sender.agentId, result.conversation_id, result);
    if (!this.expectations.get(sender.agentId)?.has(result.conversation_id)) return false;
    await this.routeResult(sender.agentId, result);
    return true;
  }

  /** Routes a `result` to whoever sent the last message of the conversation to `session`'s agent. */
  async result(session: Session, payload: ResultPayload): Promise<ResultAck> {
    const origin = await this.conversations.lookup(session.agentId, payload.conversation_id);
    if (origin === null) {
      throw new GatewayError('AGENT_NOT_FOUND', `no message of conversation "${payload.conversation_id}" was delivered to you`);
    }
    const result: ResultEvent = {
      conversation_id: payload.conversation_id,
      from_agent_id: session.agentId,
      success: payload.success,
      metadata: payload.metadata ?? {},
    };
    if (payload.result !== undefined) result.result = payload.result;
    if (payload.error !== undefined) result.error = payload.error;
    // The conversation exists because a send was authorized: its results need no second decision.
    const targetTenant = origin.awaitingNode
      ? await this.routeAwaitedResult(origin.awaitingNode, origin.sender, result, session.tenantId)
      : await this.routeResult(origin.sender, result);
    this.routedResults.inc();
    await this.audit.recordDurably({
      action: 'message.routed',
      tenant_id: session.tenantId,
      actor: { type: 'agent', id: session.agentId },
      subject: origin.sender,
      outcome: 'allowed',
      reason: null,
      session_id: session.id,
      remote_addr: session.caller.remoteAddress,
      details: {
        ...protocolDetails(session.caller),
        kind: 'result',
        conversation_id: payload.conversation_id,
        success: payload.success,
        to_tenant_id: targetTenant,
        ...traceDetails(clientTrace(payload)),
      },
      content: { result: payload.result ?? null, error: payload.error ?? null },
    });
    return { status: 'delivered' };
  }

  /** Forgets the pending result expectations of an agent whose session ended (its own, no scan). */
  forgetAgent(agentId: string): void {
    const mine = this.expectations.get(agentId);
    if (!mine) return;
    for (const timer of mine.values()) clearTimeout(timer);
    this.expectations.delete(agentId);
  }

  /** Results `agentId` awaits on this node (its sessions' and its sessionless callers'). */
  pendingResults(agentId: string): number {
    return (this.expectations.get(agentId)?.size ?? 0) + this.waiters.count(agentId);
  }

  /**
   * Settles the waiter of a sessionless sender on `node` (this one or another). Nobody waiting any
   * more (timed out, canceled, its node gone) is AGENT_NOT_FOUND for the agent sending the result.
   * Returns the sender's tenant: the recipient's own, since sessionless senders reach only
   * conversations they opened and the result goes back to the same tenant pair's audit.
   */
  private async routeAwaitedResult(node: string, sender: string, result: ResultEvent, fallbackTenant: string): Promise<string> {
    if (node === this.cluster.nodeId) this.settleAwaited(sender, result);
    else await this.cluster.request(node, { op: 'awaited_result', to_agent_id: sender, result }, CLUSTER_MARGIN_MS * 2);
    return fallbackTenant;
  }

  private settleAwaited(sender: string, result: ResultEvent): void {
    if (!this.waiters.settle(sender, result.conversation_id, result)) {
      throw new GatewayError(
        'AGENT_NOT_FOUND',
        `nobody awaits the result of conversation "${result.conversation_id}" any more (timed out or canceled)`,
      );
    }
  }

  /** Delivers a result to `toAgentId` on whichever node it is; returns the recipient's tenant. */
  private async routeResult(toAgentId: string, result: ResultEvent): Promise<string> {
    const target = await this.resolveAgent(toAgentId);
    if (target.local) this.deliverResultHere(target.tenantId, toAgentId, result);
    else
      await this.cluster.request(
        target.node,
        { op: 'result', tenant_id: target.tenantId, to_agent_id: toAgentId, result },
        CLUSTER_MARGIN_MS * 2,
      );
    return target.tenantId;
  }

  private async deliverMessageHere(tenantId: string, message: MessageEvent, routeTtlMs: number, awaitingNode?: string): Promise<void> {
    const session = this.registry.forAgent(message.to_agent_id);
    if (!session || session.closed || session.tenantId !== tenantId) throw notConnected(message.to_agent_id);
    if (!this.backpressure.admits(session)) throw notConnected(message.to_agent_id);
    const limit = this.config.limits.inflightDeliveriesPerAgent;
    if (session.deliveriesInFlight >= limit) {
      this.metrics.limitRefusals.labels('max_inflight_deliveries_per_agent').inc();
      throw new GatewayError(
        'RATE_LIMIT',
        `"${message.to_agent_id}" has ${limit} messages it has not acknowledged yet (MAX_INFLIGHT_DELIVERIES_PER_AGENT); retry shortly`,
        { retryAfterMs: INFLIGHT_RETRY_MS, reason: 'max_inflight_deliveries_per_agent' },
      );
    }
    if (routeTtlMs > 0) {
      this.conversations.remember(message.to_agent_id, message.conversation_id, message.from_agent_id, routeTtlMs, awaitingNode);
    }
    session.deliveriesInFlight++;
    try {
      if (!tracing.enabled) await session.connection.deliverMessage(message, this.config.routing.deliveryTimeoutMs);
      // The recipient gets the delivery span's context in `metadata.trace` and continues from it.
      else
        await tracing.run(
          SPANS.deliver,
          { kind: SpanKind.PRODUCER, attributes: deliveryAttributes(session, 'message', message.message_id) },
          () =>
            session.connection.deliverMessage(
              { ...message, metadata: tracing.metadataFor(message.metadata) },
              this.config.routing.deliveryTimeoutMs,
            ),
        );
    } finally {
      session.deliveriesInFlight--;
    }
  }

  private deliverResultHere(tenantId: string, toAgentId: string, result: ResultEvent): void {
    const session = this.registry.forAgent(toAgentId);
    if (!session || session.closed || session.tenantId !== tenantId || !this.backpressure.admits(session)) throw notConnected(toAgentId);
    this.cancelExpectation(toAgentId, result.conversation_id);
    if (!tracing.enabled) session.connection.deliverResult(result);
    else
      tracing.run(SPANS.deliver, { kind: SpanKind.PRODUCER, attributes: deliveryAttributes(session, 'result', undefined) }, () =>
        session.connection.deliverResult({ ...result, metadata: tracing.metadataFor(result.metadata) }),
      );
  }

  private deliverCancelHere(tenantId: string, toAgentId: string, event: CancelEvent): void {
    const session = this.registry.forAgent(toAgentId);
    if (!session || session.closed || session.tenantId !== tenantId) return;
    session.connection.deliverCancel(event);
  }

  private async serveClusterRequest(request: ClusterRequest): Promise<void> {
    switch (request.op) {
      case 'deliver':
        this.inflight++;
        try {
          // A node of an older version sends no TTL: keep the route as it would have.
          await this.deliverMessageHere(
            request.tenant_id,
            request.message,
            request.route_ttl_ms ?? this.config.routing.conversationTtlS * 1000,
            request.awaiting_node,
          );
        } finally {
          this.inflight--;
        }
        return;
      case 'result':
        this.deliverResultHere(request.tenant_id, request.to_agent_id, request.result);
        return;
      case 'awaited_result':
        this.settleAwaited(request.to_agent_id, request.result);
        return;
      case 'cancel':
        this.deliverCancelHere(request.tenant_id, request.to_agent_id, request.event);
        return;
    }
  }

  /** Refuses a send with `expect_result` past `MAX_PENDING_RESULTS_PER_AGENT` (a conversation already awaited takes no new room). */
  private checkPendingRoom(senderId: string, conversationId: string): void {
    const mine = this.expectations.get(senderId);
    const limit = this.config.limits.pendingResultsPerAgent;
    if (mine?.has(conversationId) || this.waiters.has(senderId, conversationId)) return;
    if (this.pendingResults(senderId) < limit) return;
    this.metrics.limitRefusals.labels('max_pending_results_per_agent').inc();
    throw limitExceeded(
      'max_pending_results_per_agent',
      `you await ${limit} results already (MAX_PENDING_RESULTS_PER_AGENT); wait for some before sending with expect_result`,
    );
  }

  private async isLive(nodeId: string): Promise<boolean> {
    try {
      return await this.membership.isLive(nodeId);
    } catch (error) {
      throw new GatewayError('UNAVAILABLE', 'agent directory unavailable', { cause: error });
    }
  }

  private expect(senderId: string, targetId: string, conversationId: string, timeoutMs: number): void {
    let mine = this.expectations.get(senderId);
    if (!mine) this.expectations.set(senderId, (mine = new Map<string, NodeJS.Timeout>()));
    const previous = mine.get(conversationId);
    if (previous) clearTimeout(previous);
    const timer = setTimeout(() => {
      this.dropExpectation(senderId, conversationId);
      this.routeResult(senderId, timeoutResult(conversationId, targetId, timeoutMs)).catch((error: Error) => {
        this.logger.debug(`TIMEOUT result for ${senderId} not delivered: ${error.message}`);
      });
    }, timeoutMs);
    timer.unref();
    mine.set(conversationId, timer);
  }

  private cancelExpectation(senderId: string, conversationId: string): void {
    const timer = this.expectations.get(senderId)?.get(conversationId);
    if (timer) clearTimeout(timer);
    this.dropExpectation(senderId, conversationId);
  }

  private dropExpectation(senderId: string, conversationId: string): void {
    const mine = this.expectations.get(senderId);
    if (!mine?.delete(conversationId)) return;
    if (mine.size === 0) this.expectations.delete(senderId);
  }
}

/** `details` of a sent message's `message.routed` record, built in place (no spreads: this is per message). */
function sendDetails(sender: Caller, message: MessageEvent, target: ResolvedAgent, trace: { trace_id?: string }): Record<string, unknown> {
  // Keys in sorted order, so the record's canonical line needs no copy of them (an A2A or MCP
  // caller's own keys, `a2a.…` and `mcp.…`, fall out of order: that line is made from a sorted copy).
  const details: Record<string, unknown> = target.remote ? { a2a: { remote: true } } : {};
  details.conversation_id = message.conversation_id;
  details.expect_result = message.expect_result;
  details.message_id = message.message_id;
  // The protocol's details never replace the message's own fields.
  for (const [key, value] of Object.entries(protocolDetails(sender))) details[key] ??= value;
  details.to_tenant_id = target.tenantId;
  if (trace.trace_id !== undefined) details.trace_id = trace.trace_id;
  return details;
}

/** The attributes of a delivery span: to whom, over which transport (never the content). */
function deliveryAttributes(session: Session, kind: 'message' | 'result', messageId: string | undefined): Record<string, string> {
  return {
    'messaging.system': 'agent_gateway',
    'messaging.operation.type': 'send',
    'messaging.destination.name': session.agentId,
    ...(messageId !== undefined && { 'messaging.message.id': messageId }),
    'agw.delivery.kind': kind,
    'agw.transport': session.connection.transport,
    'agw.session_id': session.id,
  };
}

/** The result a sender gets when the recipient did not answer in time. */
function timeoutResult(conversationId: string, targetId: string, timeoutMs: number): ResultEvent {
  return {
    conversation_id: conversationId,
    from_agent_id: targetId,
    success: false,
    error: { code: 'TIMEOUT', message: `no result from "${targetId}" within ${timeoutMs} ms` },
    metadata: {},
  };
}

/** The answer for an agent that is not connected, or not visible to the caller: the same words. */
export function notConnected(agentId: string): GatewayError {
  return new GatewayError('AGENT_NOT_FOUND', `agent "${agentId}" is not connected`);
}
