import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AuditTrail } from '#libs/audit';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import {
  GatewayError,
  type MessageEvent,
  type ResultAck,
  type ResultEvent,
  type ResultPayload,
  type SendAck,
  type SendPayload,
} from '#libs/protocol';
import { Backpressure } from './backpressure.js';
import { ClusterBus, type ClusterRequest } from './cluster.bus.js';
import { ConversationRepository } from './conversation.repository.js';
import { MessageCounterRepository } from './message-counter.repository.js';
import { PresenceRepository } from './presence.repository.js';
import type { Caller, Session } from './session.js';
import { SessionRegistry } from './session.registry.js';

/** A connected agent, wherever it is: on this node (`local`) or on another (`node`). */
export interface ResolvedAgent {
  tenantId: string;
  agentId: string;
  capabilities: readonly string[];
  local: Session | null;
  node: string;
}

// Time a node-to-node request may take on top of the delivery time-out itself.
const CLUSTER_MARGIN_MS = 2_000;

/**
 * Direct messages and their results, independent of transports: delivers to the recipient the
 * guards resolved and authorized (this node or another), waits for the recipient client's ack,
 * remembers the conversation so the `result` goes back, and times out expected results.
 */
@Injectable()
export class RoutingService implements OnModuleInit {
  private readonly logger = new Logger('Routing');
  private readonly expectations = new Map<string, NodeJS.Timeout>();
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
  ) {
    this.routedMessages = metrics.routed.labels('message');
    this.routedResults = metrics.routed.labels('result');
  }

  onModuleInit(): void {
    this.cluster.handleRequests((request) => this.serveClusterRequest(request));
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
    // An entry naming this node without a local session is stale (its session just ended).
    if (!entry || entry.node_id === this.cluster.nodeId) throw notConnected(agentId);
    return { tenantId: entry.tenant_id, agentId, capabilities: entry.card.capabilities, local: null, node: entry.node_id };
  }

  /** Routes a direct message to an authorized target; resolves once the recipient's client acknowledged it. */
  async send(sender: Caller, payload: SendPayload, target: ResolvedAgent): Promise<SendAck> {
    const started = performance.now();
    const timestamp = new Date().toISOString();
    const conversationId = payload.conversation_id ?? randomUUID();
    const expectResult = payload.expect_result === true && sender.session !== null;
    const timeoutMs = payload.timeout_ms ?? this.config.routing.defaultResultTimeoutMs;
    const message: MessageEvent = {
      message_id: randomUUID(),
      from_agent_id: sender.agentId,
      to_agent_id: payload.to_agent_id,
      conversation_id: conversationId,
      content: payload.content,
      metadata: payload.metadata ?? {},
      timestamp,
      expect_result: expectResult,
    };
    if (expectResult) {
      message.result_deadline = new Date(Date.now() + timeoutMs).toISOString();
      // Armed before delivery: a fast recipient can answer before the delivery ack is back.
      this.expect(sender.agentId, payload.to_agent_id, conversationId, timeoutMs);
    }
    // In flight until the ack can go out: a draining node waits for the audit record too.
    this.inflight++;
    try {
      try {
        if (target.local) await this.deliverMessageHere(target.tenantId, message);
        else
          await this.cluster.request(
            target.node,
            { op: 'deliver', tenant_id: target.tenantId, message },
            this.config.routing.deliveryTimeoutMs + CLUSTER_MARGIN_MS,
          );
      } catch (error) {
        if (expectResult) this.cancelExpectation(sender.agentId, conversationId);
        throw error;
      }
      this.counters.increment(sender.tenantId);
      this.routedMessages.inc();
      this.metrics.deliverySeconds.observe((performance.now() - started) / 1000);
      // The record is in Redis (the durable queue) before the sender hears `delivered`.
      await this.audit.recordDurably({
        action: 'message.routed',
        tenant_id: sender.tenantId,
        actor: { type: 'agent', id: sender.agentId },
        subject: payload.to_agent_id,
        outcome: 'allowed',
        reason: null,
        session_id: sender.session?.id ?? null,
        remote_addr: sender.remoteAddress,
        details: {
          message_id: message.message_id,
          conversation_id: conversationId,
          to_tenant_id: target.tenantId,
          expect_result: expectResult,
        },
        content: payload.content,
      });
    } finally {
      this.inflight--;
    }
    return { message_id: message.message_id, conversation_id: conversationId, status: 'delivered', timestamp };
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
    const targetTenant = await this.routeResult(origin, result);
    this.routedResults.inc();
    await this.audit.recordDurably({
      action: 'message.routed',
      tenant_id: session.tenantId,
      actor: { type: 'agent', id: session.agentId },
      subject: origin,
      outcome: 'allowed',
      reason: null,
      session_id: session.id,
      remote_addr: session.caller.remoteAddress,
      details: { kind: 'result', conversation_id: payload.conversation_id, success: payload.success, to_tenant_id: targetTenant },
      content: { result: payload.result ?? null, error: payload.error ?? null },
    });
    return { status: 'delivered' };
  }

  /** Forgets the pending result expectations of an agent whose session ended. */
  forgetAgent(agentId: string): void {
    const prefix = `${agentId}\u0000`;
    for (const [key, timer] of this.expectations) {
      if (key.startsWith(prefix)) {
        clearTimeout(timer);
        this.expectations.delete(key);
      }
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

  private async deliverMessageHere(tenantId: string, message: MessageEvent): Promise<void> {
    const session = this.registry.forAgent(message.to_agent_id);
    if (!session || session.closed || session.tenantId !== tenantId) throw notConnected(message.to_agent_id);
    if (!this.backpressure.admits(session)) throw notConnected(message.to_agent_id);
    this.conversations.remember(message.to_agent_id, message.conversation_id, message.from_agent_id);
    await session.connection.deliverMessage(message, this.config.routing.deliveryTimeoutMs);
  }

  private deliverResultHere(tenantId: string, toAgentId: string, result: ResultEvent): void {
    const session = this.registry.forAgent(toAgentId);
    if (!session || session.closed || session.tenantId !== tenantId || !this.backpressure.admits(session)) throw notConnected(toAgentId);
    this.cancelExpectation(toAgentId, result.conversation_id);
    session.connection.deliverResult(result);
  }

  private async serveClusterRequest(request: ClusterRequest): Promise<void> {
    switch (request.op) {
      case 'deliver':
        this.inflight++;
        try {
          await this.deliverMessageHere(request.tenant_id, request.message);
        } finally {
          this.inflight--;
        }
        return;
      case 'result':
        this.deliverResultHere(request.tenant_id, request.to_agent_id, request.result);
        return;
    }
  }

  private expect(senderId: string, targetId: string, conversationId: string, timeoutMs: number): void {
    const key = `${senderId}\u0000${conversationId}`;
    const previous = this.expectations.get(key);
    if (previous) clearTimeout(previous);
    const timer = setTimeout(() => {
      this.expectations.delete(key);
      const timeout: ResultEvent = {
        conversation_id: conversationId,
        from_agent_id: targetId,
        success: false,
        error: { code: 'TIMEOUT', message: `no result from "${targetId}" within ${timeoutMs} ms` },
        metadata: {},
      };
      this.routeResult(senderId, timeout).catch((error: Error) => {
        this.logger.debug(`TIMEOUT result for ${senderId} not delivered: ${error.message}`);
      });
    }, timeoutMs);
    timer.unref();
    this.expectations.set(key, timer);
  }

  private cancelExpectation(senderId: string, conversationId: string): void {
    const key = `${senderId}\u0000${conversationId}`;
    const timer = this.expectations.get(key);
    if (timer) {
      clearTimeout(timer);
      this.expectations.delete(key);
    }
  }
}

/** The answer for an agent that is not connected, or not visible to the caller: the same words. */
export function notConnected(agentId: string): GatewayError {
  return new GatewayError('AGENT_NOT_FOUND', `agent "${agentId}" is not connected`);
}
