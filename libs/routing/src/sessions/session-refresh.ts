import { Injectable } from '@nestjs/common';
import { AuthService } from '#libs/auth';
import { unauthorized, type RefreshAck } from '#libs/protocol';
import type { Session } from '../session.js';
import { SessionCards } from './session-cards.js';
import { SessionLifecycle } from './session-lifecycle.js';

/**
 * `refresh`: authenticates a new credential, which must be of the same agent and tenant, and makes
 * it the session's: its expiry replaces the old one, and revoking the old credential no longer
 * ends the session.
 */
@Injectable()
export class SessionRefresh {
  constructor(
    private readonly auth: AuthService,
    private readonly lifecycle: SessionLifecycle,
    private readonly cards: SessionCards,
  ) {}

  async refresh(session: Session, token: string): Promise<RefreshAck> {
    const principal = await this.auth.authenticate({
      token,
      claimedAgentId: session.agentId,
      remoteAddress: session.remoteAddress,
      transport: session.caller.transport,
    });
    if (principal.tenantId !== session.tenantId) throw unauthorized('tenant_mismatch', 'the new credential belongs to another tenant');
    session.adopt(principal);
    this.lifecycle.armExpiry(session);
    await this.cards.publish(session).catch(() => undefined);
    return { expires_at: session.expiresAt?.toISOString() ?? null };
  }
}
