import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { isAgentId, unauthorized } from '#libs/protocol';
import type { CredentialVerifier } from './credential.verifier.js';
import type { PresentedCredentials, Principal } from './principal.js';

/**
 * `none` (development only; refused at start when NODE_ENV=production): any client is the agent it
 * claims to be, in the tenant `NONE_TENANT_ID`. It never accepts a connection that presents a token
 * or a certificate, so a bad credential is not silently downgraded to no authentication.
 */
@Injectable()
export class NoneVerifier implements CredentialVerifier {
  readonly method = 'none' as const;

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  accepts(credentials: PresentedCredentials): boolean {
    return credentials.token === undefined && credentials.certificate === undefined;
  }

  verify(credentials: PresentedCredentials): Promise<Principal> {
    if (!isAgentId(credentials.claimedAgentId)) {
      return Promise.reject(unauthorized('no_credential', 'agent_id is required and must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$'));
    }
    return Promise.resolve({
      tenantId: this.config.auth.noneTenantId,
      agentId: credentials.claimedAgentId,
      method: 'none',
      credentialId: null,
      expiresAt: null,
      profile: null,
    });
  }
}
