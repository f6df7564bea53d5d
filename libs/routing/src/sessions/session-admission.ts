import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditTrail } from '#libs/audit';
import { AuthService, type PresentedCredentials } from '#libs/auth';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { ReadinessState, RefusalLog } from '#libs/observability';
import { GatewayError } from '#libs/protocol';
import { RateLimiterService } from '#libs/ratelimit';
import { ClusterBus } from '../cluster.bus.js';
import { PresenceRepository, type PresenceEntry } from '../presence.repository.js';
import type { AdmittedSession } from '../session.js';
import { presenceEntryOf } from './presence-entry.js';
import { SessionCapacity } from './session-capacity.js';
import { SessionCards } from './session-cards.js';

/**
 * Admission of a connecting client: node state → connections held by the address → connects per
 * address → authentication (with its brute-force throttle) → connects per agent → card → presence
 * claimed in the directory (a session of the same agent on another node is told it was replaced).
 * A refusal is audited (`agent.connect_denied`) and logged with its request id. The transport
 * then activates the session on its connection ({@link SessionLifecycle.activate}) or abandons it.
 */
@Injectable()
export class SessionAdmission {
  private readonly logger = new Logger('Sessions');
  private readonly presenceTtlMs: number;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly auth: AuthService,
    private readonly limiter: RateLimiterService,
    private readonly capacity: SessionCapacity,
    private readonly cards: SessionCards,
    private readonly presence: PresenceRepository,
    private readonly cluster: ClusterBus,
    private readonly readiness: ReadinessState,
    private readonly audit: AuditTrail,
    private readonly refusals: RefusalLog,
  ) {
    this.presenceTtlMs = config.heartbeat.timeoutS * 1000;
  }

  /** Authenticates a connecting client and reserves its place and presence. */
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

  /** Releases what {@link admit} reserved for a connection that never opened. */
  abandon(admitted: AdmittedSession): void {
    this.capacity.cancel(admitted.id, admitted.remoteAddress);
    this.presence
      .release({
        agent_id: admitted.principal.agentId,
        tenant_id: admitted.principal.tenantId,
        node_id: this.config.nodeId,
        session_id: admitted.id,
      })
      .catch((error: Error) => this.logger.warn(`presence not released: ${error.message}`));
  }

  private async admitOrRefuse(credentials: PresentedCredentials, handshake: unknown): Promise<AdmittedSession> {
    if (this.readiness.draining) throw new GatewayError('UNAVAILABLE', 'this gateway node is shutting down; reconnect');
    // The session's place is held from here until the transport activates or abandons it.
    const sessionId = randomUUID();
    this.capacity.reserve(sessionId, credentials.remoteAddress);
    try {
      return await this.authenticateAndClaim(sessionId, credentials, handshake);
    } catch (error) {
      this.capacity.cancel(sessionId, credentials.remoteAddress);
      throw error;
    }
  }

  private async authenticateAndClaim(sessionId: string, credentials: PresentedCredentials, handshake: unknown): Promise<AdmittedSession> {
    await this.limiter.consumeConnect(credentials.remoteAddress);
    const principal = await this.auth.authenticate(credentials);
    await this.limiter.consumeAgentConnect(principal.agentId);
    const card = this.cards.build(principal, handshake);
    const admitted: AdmittedSession = {
      id: sessionId,
      principal,
      card,
      remoteAddress: credentials.remoteAddress,
      connectedAt: new Date(),
    };
    const entry = presenceEntryOf(admitted, credentials.transport === 'http' ? 'socket.io' : credentials.transport, this.config.nodeId);
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
}
