import { Module } from '@nestjs/common';
import { AgentRepository } from './agent.repository.js';
import { AgentService } from './agent.service.js';
import { ApiTokenRepository } from './api-token.repository.js';
import { CertificateBindingRepository } from './certificate-binding.repository.js';
import { CredentialService } from './credential.service.js';
import { IdentityEventsBus } from './identity-events.bus.js';
import { OidcSubjectRepository } from './oidc-subject.repository.js';
import { TenantRepository } from './tenant.repository.js';
import { TenantService } from './tenant.service.js';

/** Tenants, agents and their credentials. */
@Module({
  providers: [
    TenantRepository,
    AgentRepository,
    ApiTokenRepository,
    CertificateBindingRepository,
    OidcSubjectRepository,
    IdentityEventsBus,
    TenantService,
    AgentService,
    CredentialService,
  ],
  exports: [
    TenantService,
    AgentService,
    CredentialService,
    IdentityEventsBus,
    ApiTokenRepository,
    AgentRepository,
    CertificateBindingRepository,
    OidcSubjectRepository,
  ],
})
export class IdentityModule {}
