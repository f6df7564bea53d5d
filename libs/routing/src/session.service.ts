import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AuthService, type AgentProfile, type PresentedCredentials, type Principal } from '#libs/auth';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService, ReadinessState, RefusalLog } from '#libs/observability';
import {
  DISCONNECT_REASONS,
  GatewayError,
  cardBytes,
  describeSchemaError,
  handshakeCardSchema,
  limitExceeded,
  type AgentCard,
  type DisconnectReason,
  type HeartbeatAck,
  type RefreshAck,
  type UpdateCardPayload,
  unauthorized,
} from '#libs/protocol';
import { AddressSlots } from './address-slots.js';
import { Backpressure } from './backpressure.js';
import { ClusterBus } from './cluster.bus.js';
import { MessageCounterRepository } from './message-counter.repository.js';
import { ClusterMembership } from './cluster-membership.js';
import { PresenceRepository, type PresenceEntry } from './presence.repository.js';
import { RoutingService } from './routing.service.js';
import { Session, type AdmittedSession, type AgentConnection } from './session.js';
import { SessionRegistry } from './session.registry.js';
import { TopicService } from './topic.service.js';
import { AuditTrail } from '#libs/audit';
import { RateLimiterService } from '#libs/ratelimit';

/**
 * The life of agent sessions on this node: admission (authentication, capacity, presence),
 * heartbeats and the silence time-out, card updates, closing with a reason, and the drain on
 * shutdown. A periodic sweep refreshes presence in one Redis round trip for all sessions.
 */
@Injectable()
export class SessionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Sessions');
  private readonly startedAt = new Date();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping = false;
  private sweepFailing = false;
  readonly sweepIntervalMs: number;
  private readonly presenceTtlMs: number;
  private readonly silenceTimeoutMs: number;
  private readonly addressSlots: AddressSlots;
  /**
   * Sessions admitted but not yet activated or abandoned by their transport: they count against
   * `MAX_CONNECTIONS` too, so connections that arrive together cannot all pass the check while
   * each is still authenticating.
   */
  private readonly admitting = new Set<string>();

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly auth: AuthService,
    private readonly registry: SessionRegistry,
    private readonly presence: PresenceRepository,
    private readonly membership: ClusterMembership,
    private readonly counters: MessageCounterRepository,
    private readonly routing: RoutingService,
    private readonly cluster: ClusterBus,
    private readonly metrics: MetricsService,
    private readonly readiness: ReadinessState,
    private readonly topics: TopicService,
    private readonly limiter: RateLimiterService,
    private readonly audit: AuditTrail,
    private readonly backpressure: Backpressure,
    private readonly refusals: RefusalLog,
  ) {
    this.silenceTimeoutMs = config.heartbeat.timeoutS * 1000;
    this.presenceTtlMs = this.silenceTimeoutMs;
    this.addressSlots = new AddressSlots(config.agentPlane.maxConnectionsPerAddress);
    // Several sweeps per time-out, so a dead node's entries outlive it by at most one time-out.
    this.sweepIntervalMs = Math.max(250, Math.min(5_000, Math.floor(this.silenceTimeoutMs / 4)));
  }

  async onApplicationBootstrap(): Promise<void> {
    this.backpressure.onOverflow((session) => {
      this.logger.warn(`closing session ${session.id} of ${session.agentId}: it stopped reading (send buffer over the limit)`);
      this.close(session, 'slow_consumer', 'the client did not read what the gateway sent it; reconnect and read faster');
    });
    this.cluster.handleSignals('close_session', (signal) => {
      const session = this.registry.get(signal.session_id);
      if (session) this.close(session, signal.reason, signal.message);
    });
    // Reaped by other nodes while it could not reach Redis: write this node's presence again now.
    this.membership.onRejoin(() => void this.sweep());
    await this.membership.join(this.nodeEntry());
    this.sweeper = setInterval(() => void this.sweep(), this.sweepIntervalMs);
    this.sweeper.unref();
  }

  onApplicationShutdown(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const timer of this.expiryTimers.values()) clearTimeout(timer);
  }

  /**
   * Authenticates a connecting client and reserves its presence. The transport calls
   * {@link activate} once the connection is open, or {@link abandon} if it never opens.
   */
  async admit(credentials: PresentedCredentials, handshake: unknown): Promise<AdmittedSession> {
    try {
      return await this.admitOrRefuse(credentials, handshake);
    } catch (caught) {
      const error = this.refuseConnect(caught, credentials);
      const code = error.code;
      this.audit.record({
        action: 'agent.connect_denied',
        tenant_id: null,
        actor: { type: 'agent', id: credentials.claimedAgentId ?? 'unknown' },
        subject: credentials.claimedAgentId ?? null,
        outcome: code === 'UNAVAILABLE' ? 'error' : 'denied',
        reason: code,
        session_id: null,
        remote_addr: credentials.remoteAddress,
        details: {
          transport: credentials.transport,
          method: credentials.token !== undefined ? 'bearer' : credentials.certificate ? 'certificate' : 'none',
          request_id: error.requestId,
          ...(error.reason !== undefined && { error_reason: error.reason }),
        },
      });
      throw error;
    }
  }

  /**
   * A refused connection as the client gets it: a `GatewayError` (anything else is `UNAVAILABLE`,
   * logged with its stack) with its request id and log line. Also for refusals a transport makes
   * before admission (a malformed handshake).
   */
  refuseConnect(error: unknown, who: { claimedAgentId?: string | undefined; remoteAddress: string }): GatewayError {
    const refusal =
      error instanceof GatewayError
        ? error
        : new GatewayError('UNAVAILABLE', 'connection could not be admitted; the gateway logged it under this request_id');
    this.refusals.note(refusal, { where: 'connect', agentId: who.claimedAgentId ?? null, remoteAddr: who.remoteAddress });
    if (refusal !== error)
      this.logger.error(`admission failed (request_id ${refusal.requestId}): ${(error as Error)?.stack ?? String(error)}`);
    return refusal;
  }

  /**
   * The connection pipeline: node state → connections held by the address → connects per address
   * → authentication (with its brute-force throttle) → connects per agent → card → presence. The
   * address's slot is held from here until the connection closes (or given back on refusal).
   */
  private async admitOrRefuse(credentials: PresentedCredentials, handshake: unknown): Promise<AdmittedSession> {
    if (this.readiness.draining) throw new GatewayError('UNAVAILABLE', 'this gateway node is shutting down; reconnect');
    if (this.registry.size + this.admitting.size >= this.config.agentPlane.maxConnections)
      throw new GatewayError('UNAVAILABLE', 'this gateway node is at capacity; retry later');
    if (!this.addressSlots.take(credentials.remoteAddress)) {
      this.metrics.limitRefusals.labels('max_connections_per_address').inc();
      throw limitExceeded(
        'max_connections_per_address',
        `this address holds ${this.config.agentPlane.maxConnectionsPerAddress} connections to this node (MAX_CONNECTIONS_PER_ADDRESS); retry later`,
      );
    }
    // The session's place is held from here until the transport activates or abandons it.
    const sessionId = randomUUID();
    this.admitting.add(sessionId);
    try {
      return await this.authenticateAndClaim(sessionId, credentials, handshake);
    } catch (error) {
      this.admitting.delete(sessionId);
      this.addressSlots.give(credentials.remoteAddress);
      throw error;
    }
  }

  private async authenticateAndClaim(sessionId: string, credentials: PresentedCredentials, handshake: unknown): Promise<AdmittedSession> {
    await this.limiter.consumeConnect(credentials.remoteAddress);
    const principal = await this.auth.authenticate(credentials);
    await this.limiter.consumeAgentConnect(principal.agentId);
    const card = this.buildCard(principal, handshake);
    const admitted: AdmittedSession = {
      id: sessionId,
      principal,
      card,
      remoteAddress: credentials.remoteAddress,
      connectedAt: new Date(),
    };
    const entry = this.entryOf(admitted, credentials.transport === 'http' ? 'socket.io' : credentials.transport);
    let previous: PresenceEntry | null;
    try {
      previous = await this.presence.claim(entry, this.presenceTtlMs);
    } catch (error) {
      throw new GatewayError('UNAVAILABLE', 'agent directory unavailable; retry later', { cause: error });
    }
    if (previous && previous.session_id !== admitted.id && previous.node_id !== this.config.nodeId) {
      this.cluster
        .signal(previous.node_id, {
          op: 'close_session',
          session_id: previous.session_id,
          reason: 'replaced',
          message: 'a newer connection authenticated as this agent',
        })
        .catch((error: Error) => this.logger.warn(`could not close the replaced session on ${previous.node_id}: ${error.message}`));
    }
    return admitted;
  }

  /** Attaches an admitted session to its open connection and sends `session`. */
  activate(admitted: AdmittedSession, connection: AgentConnection): Session {
    this.admitting.delete(admitted.id);
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
    this.scheduleExpiry(session);
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

  /** Releases the presence reserved by {@link admit} for a connection that never opened. */
  abandon(admitted: AdmittedSession): void {
    this.admitting.delete(admitted.id);
    this.addressSlots.give(admitted.remoteAddress);
    this.presence
      .release({
        agent_id: admitted.principal.agentId,
        tenant_id: admitted.principal.tenantId,
        node_id: this.config.nodeId,
        session_id: admitted.id,
      })
      .catch((error: Error) => this.logger.warn(`presence not released: ${error.message}`));
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

  /** Changes the session's card and publishes it to the directory at once. */
  async updateCard(session: Session, update: UpdateCardPayload): Promise<AgentCard> {
    const card = this.checkCardSize({
      ...session.card,
      ...(update.agent_name !== undefined && { agent_name: update.agent_name }),
      ...(update.capabilities !== undefined && { capabilities: this.allowedCapabilities(session.principal, update.capabilities) }),
      ...(update.metadata !== undefined && { metadata: update.metadata }),
    });
    session.card = card;
    try {
      await this.presence.refresh([this.entryOf(session, session.connection.transport)], this.presenceTtlMs);
    } catch (error) {
      throw new GatewayError('UNAVAILABLE', 'agent directory unavailable; the card will be published with the next refresh', {
        cause: error,
      });
    }
    return card;
  }

  /**
   * `refresh`: authenticates a new credential, which must be of the same agent, and makes it the
   * session's: its expiry replaces the old one, and revoking the old credential no longer ends the
   * session.
   */
  async refresh(session: Session, token: string): Promise<RefreshAck> {
    const principal = await this.auth.authenticate({
      token,
      claimedAgentId: session.agentId,
      remoteAddress: session.remoteAddress,
      transport: session.caller.transport,
    });
    if (principal.tenantId !== session.tenantId) throw unauthorized('tenant_mismatch', 'the new credential belongs to another tenant');
    session.adopt(principal);
    this.scheduleExpiry(session);
    await this.presence.refresh([this.entryOf(session, session.connection.transport)], this.presenceTtlMs).catch(() => undefined);
    return { expires_at: session.expiresAt?.toISOString() ?? null };
  }

  /** Sessions on this node matching `predicate` (for revocations). */
  find(predicate: (session: Session) => boolean): Session[] {
    return [...this.registry.all()].filter(predicate);
  }

  /** Applies a changed registration to a live session: new name and capabilities (narrowed to the registered ones). */
  applyProfile(session: Session, profile: AgentProfile): void {
    session.adopt({ ...session.principal, profile });
    const capabilities = session.card.capabilities.filter((c) => profile.capabilities.includes(c));
    session.card = {
      ...session.card,
      agent_name: profile.agentName,
      capabilities,
      description: profile.description,
      metadata: profile.metadata,
    };
    this.presence.refresh([this.entryOf(session, session.connection.transport)], this.presenceTtlMs).catch(() => undefined);
  }

  /** Closes the session of `sessionId` wherever it lives. */
  async closeAnywhere(sessionId: string, reason: DisconnectReason, message: string): Promise<void> {
    const local = this.registry.get(sessionId);
    if (local) this.close(local, reason, message);
    else await this.cluster.signal(null, { op: 'close_session', session_id: sessionId, reason, message });
  }

  /**
   * The drain on SIGTERM: refuse new sessions and mark the node not ready, let in-flight deliveries
   * finish (up to `SHUTDOWN_GRACE_MS`), then close every session with `server_shutdown`.
   */
  async drain(): Promise<void> {
    this.readiness.draining = true;
    const deadline = Date.now() + this.config.shutdown.graceMs;
    while (this.routing.inflightCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const sessions = [...this.registry.all()];
    for (const session of sessions) this.close(session, 'server_shutdown', 'the gateway node is shutting down; reconnect');
    await Promise.allSettled([this.counters.flush(), this.membership.leave(), this.topics.drain()]);
    this.logger.log(`drained: ${sessions.length} session(s) closed`);
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
    this.addressSlots.give(session.remoteAddress);
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

  private scheduleExpiry(session: Session): void {
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

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const now = Date.now();
      const live: Session[] = [];
      for (const session of this.registry.all()) {
        if (now - session.lastSeenAt > this.silenceTimeoutMs) {
          this.close(session, 'heartbeat_timeout', `no heartbeat for ${this.config.heartbeat.timeoutS} s`);
        } else {
          live.push(session);
        }
      }
      const outcomes = await this.presence.refresh(
        live.map((s) => this.entryOf(s, s.connection.transport)),
        this.presenceTtlMs,
      );
      outcomes.forEach((outcome, i) => {
        const session = live[i];
        if (outcome === 'taken' && session) this.close(session, 'replaced', 'a newer connection authenticated as this agent');
      });
      await this.counters.flush();
      if (this.sweepFailing) this.logger.log('presence refresh recovered');
      this.sweepFailing = false;
    } catch (error) {
      if (!this.sweepFailing) this.logger.error(`presence refresh failed (Redis down?): ${(error as Error).message}`);
      this.sweepFailing = true;
    } finally {
      this.sweeping = false;
    }
  }

  private buildCard(principal: Principal, handshake: unknown): AgentCard {
    const parsed = handshakeCardSchema.safeParse(handshake ?? {});
    if (!parsed.success) throw new GatewayError('INVALID_MESSAGE', `handshake ${describeSchemaError(parsed.error)}`);
    const claimed = parsed.data;
    const profile = principal.profile;
    if (!profile) {
      return {
        agent_id: principal.agentId,
        agent_name: claimed.agent_name ?? principal.agentId,
        capabilities: claimed.capabilities ?? [],
        description: null,
        metadata: {},
      };
    }
    return this.checkCardSize({
      agent_id: principal.agentId,
      agent_name: claimed.agent_name ?? profile.agentName,
      capabilities: claimed.capabilities === undefined ? profile.capabilities : this.allowedCapabilities(principal, claimed.capabilities),
      description: profile.description,
      metadata: profile.metadata,
    });
  }

  /** The card, unless it is over `MAX_CARD_BYTES` (it is copied into every directory read and presence refresh). */
  private checkCardSize(card: AgentCard): AgentCard {
    const bytes = cardBytes(card);
    if (bytes > this.config.limits.cardBytes) {
      this.metrics.limitRefusals.labels('max_card_bytes').inc();
      throw new GatewayError('PAYLOAD_TOO_LARGE', `agent card of ${bytes} bytes is over MAX_CARD_BYTES (${this.config.limits.cardBytes})`, {
        reason: 'max_card_bytes',
      });
    }
    return card;
  }

  /** A registered agent may narrow its registered capabilities, never widen them. */
  private allowedCapabilities(principal: Principal, requested: string[]): string[] {
    const registered = principal.profile?.capabilities;
    if (registered === undefined) return requested;
    const extra = requested.filter((c) => !registered.includes(c));
    if (extra.length > 0) throw new GatewayError('FORBIDDEN', `capabilities not registered for this agent: ${extra.join(', ')}`);
    return requested;
  }

  private entryOf(session: AdmittedSession | Session, transport: PresenceEntry['transport']): PresenceEntry {
    const isLive = session instanceof Session;
    return {
      session_id: session.id,
      agent_id: session.principal.agentId,
      tenant_id: session.principal.tenantId,
      node_id: this.config.nodeId,
      transport,
      card: session.card,
      remote_addr: session.remoteAddress,
      connected_at: session.connectedAt.toISOString(),
      last_heartbeat: (isLive ? session.lastHeartbeatAt : session.connectedAt).toISOString(),
      expires_at: (isLive ? session.expiresAt : session.principal.expiresAt)?.toISOString() ?? null,
    };
  }

  private nodeEntry() {
    return {
      node_id: this.config.nodeId,
      version: this.config.version,
      max_connections: this.config.agentPlane.maxConnections,
      started_at: this.startedAt.toISOString(),
    };
  }
}
