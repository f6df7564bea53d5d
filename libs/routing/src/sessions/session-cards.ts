import { Inject, Injectable } from '@nestjs/common';
import type { AgentProfile, Principal } from '#libs/auth';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { MetricsService } from '#libs/observability';
import { GatewayError, cardBytes, describeSchemaError, handshakeCardSchema, type AgentCard, type UpdateCardPayload } from '#libs/protocol';
import { PresenceRepository } from '../presence.repository.js';
import type { Session } from '../session.js';
import { presenceEntryOf } from './presence-entry.js';

/**
 * A session's card: built at admission from the handshake and the agent's registration, changed
 * by `update_card` and by a changed registration, within `MAX_CARD_BYTES` and the registered
 * capabilities, and published to the directory.
 */
@Injectable()
export class SessionCards {
  private readonly presenceTtlMs: number;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly presence: PresenceRepository,
    private readonly metrics: MetricsService,
  ) {
    this.presenceTtlMs = config.heartbeat.timeoutS * 1000;
  }

  /** The card of a connecting agent: what its handshake claims, within its registration. */
  build(principal: Principal, handshake: unknown): AgentCard {
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
    return this.checkSize({
      agent_id: principal.agentId,
      agent_name: claimed.agent_name ?? profile.agentName,
      capabilities: claimed.capabilities === undefined ? profile.capabilities : this.allowedCapabilities(principal, claimed.capabilities),
      description: profile.description,
      metadata: profile.metadata,
    });
  }

  /** `update_card`: changes the session's card and publishes it to the directory at once. */
  async update(session: Session, update: UpdateCardPayload): Promise<AgentCard> {
    const card = this.checkSize({
      ...session.card,
      ...(update.agent_name !== undefined && { agent_name: update.agent_name }),
      ...(update.capabilities !== undefined && { capabilities: this.allowedCapabilities(session.principal, update.capabilities) }),
      ...(update.metadata !== undefined && { metadata: update.metadata }),
    });
    session.card = card;
    try {
      await this.publish(session);
    } catch (error) {
      throw new GatewayError('UNAVAILABLE', 'agent directory unavailable; the card will be published with the next refresh', {
        cause: error,
      });
    }
    return card;
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
    this.publish(session).catch(() => undefined);
  }

  /** Writes the session's entry (card, expiry) to the directory now rather than at the next sweep. */
  publish(session: Session): Promise<unknown> {
    return this.presence.refresh([presenceEntryOf(session, session.connection.transport, this.config.nodeId)], this.presenceTtlMs);
  }

  /** The card, unless it is over `MAX_CARD_BYTES` (it is copied into every directory read and presence refresh). */
  private checkSize(card: AgentCard): AgentCard {
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
}
