import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, APP_PIPE } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { AuthThrottleModule } from '#libs/auth';
import type { GatewayConfig } from '#libs/config';
import { IdentityModule } from '#libs/identity';
import { HealthController } from '#libs/observability';
import { AdminAuthGuard } from './admin-auth.guard.js';
import { AdminTokenStrategy } from './admin-token.strategy.js';
import { AgentsController } from './agents.controller.js';
import { CredentialsController } from './credentials.controller.js';
import { MetricsController } from './metrics.controller.js';
import { TenantsController } from './tenants.controller.js';
import { PoliciesController } from './policies.controller.js';
import { RateLimitsController } from './rate-limits.controller.js';
import { AuditController } from './audit.controller.js';
import { PolicyModule } from '#libs/policy';
import { RateLimitModule } from '#libs/ratelimit';
import { adminValidationPipe } from './validation.js';

/** The admin plane, served on its own listener (`ADMIN_HOST`:`ADMIN_PORT`). */
@Module({})
export class AdminModule {
  static forRoot(_config: GatewayConfig): DynamicModule {
    return {
      module: AdminModule,
      imports: [IdentityModule, AuthThrottleModule, PassportModule, PolicyModule, RateLimitModule],
      controllers: [
        HealthController,
        MetricsController,
        TenantsController,
        AgentsController,
        CredentialsController,
        PoliciesController,
        RateLimitsController,
        AuditController,
      ],
      providers: [
        AdminTokenStrategy,
        { provide: APP_GUARD, useClass: AdminAuthGuard },
        { provide: APP_PIPE, useFactory: adminValidationPipe },
      ],
    };
  }
}
