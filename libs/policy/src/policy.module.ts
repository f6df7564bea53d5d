import { Module } from '@nestjs/common';
import { PolicyRepository } from './policy.repository.js';
import { PolicyService } from './policy.service.js';

/** Per-tenant authorization policies. */
@Module({ providers: [PolicyRepository, PolicyService], exports: [PolicyService] })
export class PolicyModule {}
