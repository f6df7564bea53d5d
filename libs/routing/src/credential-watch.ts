import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import {
  AgentRepository,
  ApiTokenRepository,
  CertificateBindingRepository,
  IdentityEventsBus,
  OidcSubjectRepository,
  type IdentityEvent,
} from '#libs/identity';
import type { Session } from './session.js';
import { SessionCards } from './sessions/session-cards.js';
import { SessionLifecycle } from './sessions/session-lifecycle.js';

/**
 * Ends live sessions whose credential stopped being valid, on this node: at once on the identity
 * events every node receives (a token revoked, a binding removed, an agent disabled or deleted),
 * and, as a backstop for an event this node missed while cut off from Redis, by re-checking every
 * live session's credential against Postgres each `CREDENTIAL_RECHECK_S`.
 */
@Injectable()
export class CredentialWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CredentialWatch');
  private timer: NodeJS.Timeout | null = null;
  private checking = false;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly sessions: SessionLifecycle,
    private readonly cards: SessionCards,
    private readonly events: IdentityEventsBus,
    private readonly agents: AgentRepository,
    private readonly tokens: ApiTokenRepository,
    private readonly certificates: CertificateBindingRepository,
    private readonly subjects: OidcSubjectRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.events.subscribe((event) => this.apply(event));
    this.timer = setInterval(() => void this.recheck(), this.config.auth.recheckS * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private apply(event: IdentityEvent): void {
    switch (event.type) {
      case 'credential_revoked':
        this.revoke((s) => s.principal.credentialId === event.credential_id, 'the credential of this session was revoked');
        return;
      case 'agent_revoked':
        this.revoke((s) => s.agentId === event.agent_id && s.principal.profile !== null, 'the agent was disabled or removed');
        return;
      case 'agent_changed':
        for (const session of this.sessions.find((s) => s.agentId === event.agent_id && s.principal.profile !== null)) {
          this.cards.applyProfile(session, {
            agentName: event.agent_name,
            capabilities: event.capabilities,
            description: event.description,
            metadata: event.metadata,
          });
        }
        return;
    }
  }

  private revoke(predicate: (session: Session) => boolean, message: string): void {
    for (const session of this.sessions.find(predicate)) this.sessions.close(session, 'revoked', message);
  }

  /** Asks Postgres, in four queries for all sessions, which credentials and agents are no longer usable. */
  private async recheck(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const live = this.sessions.find((s) => s.principal.credentialId !== null);
      if (live.length === 0) return;
      const ids = (method: string) => [...new Set(live.filter((s) => s.principal.method === method).map((s) => s.principal.credentialId!))];
      const [agents, tokens, certificates, subjects] = await Promise.all([
        this.agents.unusable([...new Set(live.map((s) => s.agentId))]),
        this.tokens.unusable(ids('token'), new Date()),
        this.certificates.missing(ids('mtls')),
        this.subjects.missing(ids('oidc')),
      ]);
      const deadAgents = new Set(agents);
      const deadCredentials = new Set([...tokens, ...certificates, ...subjects]);
      this.revoke(
        (s) => deadAgents.has(s.agentId) || deadCredentials.has(s.principal.credentialId ?? ''),
        'the credential of this session is no longer valid',
      );
    } catch (error) {
      this.logger.warn(`credential re-check failed (Postgres down?): ${(error as Error).message}`);
    } finally {
      this.checking = false;
    }
  }
}
