import { Module } from '@nestjs/common';
import { AgentRepository } from './agent.repository.js';
import { ApiTokenRepository } from './api-token.repository.js';
import { IdentityService } from './identity.service.js';
import { TenantRepository } from './tenant.repository.js';

/** Tenants, agents and their credentials. */
@Module({
  providers: [TenantRepository, AgentRepository, ApiTokenRepository, IdentityService],
  exports: [IdentityService, ApiTokenRepository, AgentRepository],
})
export class IdentityModule {}
