import { Injectable, Logger } from '@nestjs/common';
import { CertificateBindingRepository } from '#libs/identity';
import { GatewayError, unauthorized } from '#libs/protocol';
import { profileOf } from './agent-profile.js';
import type { CredentialVerifier } from './credential.verifier.js';
import type { PresentedCredentials, Principal } from './principal.js';

/**
 * `mtls`: a client certificate that chained to `TLS_CLIENT_CA` and is not on the CRL (checked by
 * the TLS stack, or by a trusted proxy that forwarded it), bound to an agent by fingerprint,
 * SPIFFE ID or subject CN. The session expires with the certificate.
 */
@Injectable()
export class MtlsVerifier implements CredentialVerifier {
  private readonly logger = new Logger('MtlsVerifier');
  readonly method = 'mtls' as const;

  constructor(private readonly bindings: CertificateBindingRepository) {}

  accepts(credentials: PresentedCredentials): boolean {
    return credentials.token === undefined && credentials.certificate !== undefined;
  }

  async verify(credentials: PresentedCredentials): Promise<Principal> {
    const certificate = credentials.certificate;
    if (!certificate) throw unauthorized('no_credential', 'no client certificate presented');
    if (!certificate.verified)
      throw unauthorized('certificate_not_verified', `client certificate not accepted (${certificate.verificationError ?? 'unverified'})`);
    if (certificate.notAfter && certificate.notAfter.getTime() <= Date.now()) throw unauthorized('expired', 'client certificate expired');
    let binding;
    try {
      binding = await this.bindings.findFor(certificate);
    } catch (error) {
      this.logger.error(`credential store unavailable: ${(error as Error).message}`);
      throw new GatewayError('UNAVAILABLE', 'credential store unavailable', { cause: error });
    }
    if (!binding) throw unauthorized('not_bound', 'client certificate is not bound to an agent');
    if (binding.agent.status !== 'enabled') throw unauthorized('agent_disabled', 'agent is disabled');
    return {
      tenantId: binding.agent.tenantId,
      agentId: binding.agent.id,
      method: 'mtls',
      credentialId: binding.id,
      expiresAt: certificate.notAfter ?? null,
      profile: profileOf(binding.agent),
    };
  }
}
