import { Inject, Injectable } from '@nestjs/common';
import { GatewayError, unauthorized } from '#libs/protocol';
import { AuthThrottle } from './auth-throttle.js';
import { CREDENTIAL_VERIFIERS, type CredentialVerifier } from './credential.verifier.js';
import type { PresentedCredentials, Principal } from './principal.js';

/**
 * Authenticates what a client presents, on every transport: refuses addresses over the failure
 * limit, picks the enabled verifier that accepts the credential's shape, verifies it, and refuses a
 * claimed `agent_id` the credential is not bound to. Fails closed: no verifier, no entry.
 */
@Injectable()
export class AuthService {
  constructor(
    @Inject(CREDENTIAL_VERIFIERS) private readonly verifiers: CredentialVerifier[],
    private readonly throttle: AuthThrottle,
  ) {}

  /** The enabled methods, in the order they are tried. */
  get methods(): string[] {
    return this.verifiers.map((v) => v.method);
  }

  async authenticate(credentials: PresentedCredentials): Promise<Principal> {
    await this.throttle.check(credentials.remoteAddress);
    try {
      return await this.verify(credentials);
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'UNAUTHORIZED') await this.throttle.fail(credentials.remoteAddress);
      throw error;
    }
  }

  private async verify(credentials: PresentedCredentials): Promise<Principal> {
    const verifier = this.verifiers.find((v) => v.accepts(credentials));
    if (!verifier) {
      const nothing = credentials.token === undefined && credentials.certificate === undefined;
      const what = nothing ? 'no credential presented' : 'credential type not accepted';
      throw unauthorized(nothing ? 'no_credential' : 'method_not_accepted', `${what}; this gateway accepts: ${this.methods.join(', ')}`);
    }
    const principal = await verifier.verify(credentials);
    if (credentials.claimedAgentId !== undefined && credentials.claimedAgentId !== principal.agentId) {
      throw unauthorized('claimed_id_mismatch', 'the claimed agent_id is not the one this credential is bound to');
    }
    return principal;
  }
}
