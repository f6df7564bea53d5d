import { Inject, Injectable, Logger } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { API_TOKEN_PREFIX, OidcSubjectRepository } from '#libs/identity';
import { GatewayError, unauthorized } from '#libs/protocol';
import { profileOf } from './agent-profile.js';
import type { CredentialVerifier } from './credential.verifier.js';
import { OidcIssuerClient, type AccessTokenClaims } from './oidc-issuer.client.js';
import type { PresentedCredentials, Principal } from './principal.js';

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * `oidc`: an OAuth 2.0 access token from the enterprise IdP. JWTs are validated locally against the
 * issuer's keys; opaque tokens are introspected. The claim `OIDC_AGENT_CLAIM` names the subject,
 * which an admin binds to an agent.
 */
@Injectable()
export class OidcVerifier implements CredentialVerifier {
  private readonly logger = new Logger('OidcVerifier');
  readonly method = 'oidc' as const;
  private readonly agentClaim: string;

  constructor(
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    private readonly issuer: OidcIssuerClient,
    private readonly subjects: OidcSubjectRepository,
  ) {
    this.agentClaim = config.oidc?.agentClaim ?? 'sub';
  }

  accepts(credentials: PresentedCredentials): boolean {
    return credentials.token !== undefined && !credentials.token.startsWith(API_TOKEN_PREFIX);
  }

  async verify(credentials: PresentedCredentials): Promise<Principal> {
    const token = credentials.token ?? '';
    const claims: AccessTokenClaims = JWT_SHAPE.test(token) ? await this.issuer.verifyJwt(token) : await this.issuer.introspect(token);
    const subject = claims[this.agentClaim];
    if (typeof subject !== 'string' || subject === '')
      throw unauthorized('missing_claim', `access token has no "${this.agentClaim}" claim`);
    let binding;
    try {
      binding = await this.subjects.findFor(claims.iss ?? this.issuer.issuer, subject, this.issuer.issuer);
    } catch (error) {
      this.logger.error(`credential store unavailable: ${(error as Error).message}`);
      throw new GatewayError('UNAVAILABLE', 'credential store unavailable', { cause: error });
    }
    if (!binding) throw unauthorized('not_bound', "the token's subject is not bound to an agent");
    if (binding.agent.status !== 'enabled') throw unauthorized('agent_disabled', 'agent is disabled');
    return {
      tenantId: binding.agent.tenantId,
      agentId: binding.agent.id,
      method: 'oidc',
      credentialId: binding.id,
      expiresAt: typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : null,
      profile: profileOf(binding.agent),
    };
  }
}
