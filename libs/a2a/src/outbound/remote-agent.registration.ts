import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import type { SealedA2ACredential } from '#libs/identity';
import { GatewayError } from '#libs/protocol';
import { SecretBox } from '#libs/secrets';
import type { A2ACredential } from './a2a-credential.js';
import { resolveAllowed } from './egress.fetch.js';
import { EgressPolicy } from './egress.policy.js';

/**
 * What the admin API stores for a remote A2A agent: its `a2a_url`, checked against the egress
 * rules at once (a URL that could never be called is a 400 naming A2A_EGRESS_ALLOW, not a failure
 * at the first send), and its `a2a_credential`, sealed (libs/secrets) with the agent id as
 * associated data. The checks are repeated on every request: DNS can change after registration.
 */
@Injectable()
export class RemoteAgentRegistration {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly egress: EgressPolicy,
    private readonly secrets: SecretBox,
  ) {}

  /** Refuses (INVALID_MESSAGE, reason `egress_refused`) a URL the egress rules refuse, before or after resolving it. */
  async checkUrl(a2aUrl: string): Promise<void> {
    try {
      const target = this.egress.checkUrl(new URL(a2aUrl));
      const timeoutMs = this.config.a2aOutbound.connectTimeoutMs;
      await resolveAllowed(this.egress, target, timeoutMs, AbortSignal.timeout(timeoutMs));
    } catch (error) {
      if (error instanceof GatewayError && error.reason === 'egress_refused') {
        throw new GatewayError('INVALID_MESSAGE', `a2a_url: ${error.message}`, { reason: 'egress_refused' });
      }
      // Not resolvable (yet, or not in time): nothing is plainly wrong, and every send checks again.
    }
  }

  /** Seals `credential` for `agentId`; INVALID_MESSAGE when SECRETS_KEY is not set. */
  seal(agentId: string, credential: A2ACredential): SealedA2ACredential {
    const sealed = this.secrets.seal(JSON.stringify(credential), agentId);
    return { type: credential.type, ciphertext: sealed.ciphertext, keyId: sealed.keyId };
  }
}
