import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AuditTrail } from '#libs/audit';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import { DISCONNECT_REASONS, type DisconnectReason, type HeartbeatAck } from '#libs/protocol';
import { Backpressure } from '../backpressure.js';
import { ClusterBus } from '../cluster.bus.js';
import { PresenceRepository } from '../presence.repository.js';
import { RoutingService } from '../routing.service.js';
import { Session, type AdmittedSession, type AgentConnection } from '../session.js';
import { SessionRegistry } from '../session.registry.js';
import { TopicService } from '../topic.service.js';
import { SessionCapacity } from './session-capacity.js';

/**
 * The life of a session on this node once admitted: it becomes live on its connection (`session`
 * sent, `agent.connect` audited), heartbeats, closes when its credential expires, when another
 * node or an admin closes it, when its client stops reading, or when the transport sees the
 * connection go; closing gives back its place, presence, subscriptions and conversations and
 * audits `agent.disconnect` with the reason.
 */
@Injectable()
export class SessionLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Sessions');
  private readonly startedAt = new Date();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly registry: SessionRegistry,
    private readonly capacity: SessionCapacity,
    private readonly presence: PresenceRepository,
    private readonly topics: TopicService,
    private readonly routing: RoutingService,
    private readonly cluster: ClusterBus,
    private readonly backpressure: Backpressure,
    private readonly metrics: MetricsService,
    private readonly audit: AuditTrail,
  ) {}

  onApplicationBootstrap(): void {
    this.backpressure.onOverflow((session) => {
      this.logger.warn(`closing session ${session.id} of ${session.agentId}: it stopped reading (send buffer over the limit)`);
      this.close(session, 'slow_consumer', 'the client did not read what the gateway sent it; reconnect and read faster');
    });
    this.cluster.handleSignals('close_session', (signal) => {
      const session = this.registry.get(signal.session_id);
      if (session) this.close(session, signal.reason, signal.message);
    });
  }

  onApplicationShutdown(): void {
    for (const timer of this.expiryTimers.values()) clearTimeout(timer);
  }

  /** Attaches an admitted session to its open connection and sends `session`. */
  activate(admitted: AdmittedSession, connection: AgentConnection): Session {
    this.capacity.activated(admitted.id);
    const session = new Session(admitted, connection);
    const previous = this.registry.add(session);
    if (previous && previous !== session) this.close(previous, 'replaced', 'a newer connection authenticated as this agent');
    connection.sendSession({
      session_id: session.id,
      agent: session.card,
      tenant_id: session.tenantId,
      heartbeat_interval_s: this.config.heartbeat.intervalS,
      heartbeat_timeout_s: this.config.heartbeat.timeoutS,
      expires_at: session.expiresAt?.toISOString() ?? null,
      max_message_bytes: this.config.agentPlane.maxMessageBytes,
      node_id: this.config.nodeId,
    });
    this.armExpiry(session);
    this.metrics.sessions.labels(connection.transport).inc();
    this.audit.record({
      action: 'agent.connect',
      tenant_id: session.tenantId,
      actor: { type: 'agent', id: session.agentId },
      subject: session.agentId,
      outcome: 'allowed',
      reason: null,
      session_id: session.id,
      remote_addr: session.remoteAddress,
      details: { transport: connection.transport, method: session.principal.method, credential_id: session.principal.credentialId },
    });
    return session;
  }

  /** Closes a session from the gateway's side: tells the client why, then drops it. */
  close(session: Session, reason: DisconnectReason, message: string): void {
    if (!this.forget(session, reason)) return;
    session.connection.close({ reason, message, reconnect: !DISCONNECT_REASONS[reason].terminal });
  }

  /** Records that the transport saw the connection go (client left, network dropped). */
  detach(session: Session): void {
    this.forget(session, 'client_disconnect');
  }

  heartbeat(session: Session): HeartbeatAck {
    session.lastHeartbeatAt = new Date();
    return { timestamp: session.lastHeartbeatAt.toISOString() };
  }

  /** Closes the session of `sessionId` wherever it lives. */
  async closeAnywhere(sessionId: string, reason: DisconnectReason, message: string): Promise<void> {
    const local = this.registry.get(sessionId);
    if (local) this.close(local, reason, message);
    else await this.cluster.signal(null, { op: 'close_session', session_id: sessionId, reason, message });
  }

  /** Sessions on this node matching `predicate` (for revocations). */
  find(predicate: (session: Session) => boolean): Session[] {
    return [...this.registry.all()].filter(predicate);
  }

  /** Closes the session with `expired` when its credential expires (again after a `refresh`). */
  armExpiry(session: Session): void {
    const previous = this.expiryTimers.get(session.id);
    if (previous) clearTimeout(previous);
    if (!session.expiresAt) return;
    const delay = session.expiresAt.getTime() - Date.now();
    // setTimeout holds 32-bit delays; a credential valid for longer is re-checked at the next refresh.
    if (delay > 2 ** 31 - 1) return;
    const timer = setTimeout(() => this.close(session, 'expired', 'the credential of this session expired'), Math.max(0, delay));
    timer.unref();
    this.expiryTimers.set(session.id, timer);
  }

  /** Sessions on this node (for the admin plane and tests of the drain). */
  get size(): number {
    return this.registry.size;
  }

  get uptimeSeconds(): number {
    return Math.floor((Date.now() - this.startedAt.getTime()) / 1000);
  }

  private forget(session: Session, reason: string): boolean {
    if (session.closed) return false;
    session.closed = true;
    this.capacity.closed(session.remoteAddress);
    this.registry.remove(session);
    this.topics.dropSession(session);
    if (!this.registry.forAgent(session.agentId)) this.routing.forgetAgent(session.agentId);
    const timer = this.expiryTimers.get(session.id);
    if (timer) {
      clearTimeout(timer);
      this.expiryTimers.delete(session.id);
    }
    this.presence
      .release({ agent_id: session.agentId, tenant_id: session.tenantId, node_id: this.config.nodeId, session_id: session.id })
      .catch((error: Error) => this.logger.warn(`presence of ${session.agentId} not released (it expires by itself): ${error.message}`));
    this.metrics.sessions.labels(session.connection.transport).dec();
    this.metrics.disconnects.labels(reason).inc();
    this.audit.record({
      action: 'agent.disconnect',
      tenant_id: session.tenantId,
      actor: reason === 'client_disconnect' ? { type: 'agent', id: session.agentId } : { type: 'system', id: this.config.nodeId },
      subject: session.agentId,
      outcome: 'allowed',
      reason,
      session_id: session.id,
      remote_addr: session.remoteAddress,
      details: { connected_for_ms: Date.now() - session.connectedAt.getTime() },
    });
    return true;
  }
}
