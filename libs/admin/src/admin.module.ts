import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, APP_PIPE } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { A2AOutboundModule } from '#libs/a2a';
import { AuthThrottleModule, OidcIssuerClient } from '#libs/auth';
import type { GatewayConfig } from '#libs/config';
import { SessionAdminModule } from '#libs/routing';
import { AdminAccess, RolesGuard } from './admin-access.js';
import { SessionsController } from './sessions.controller.js';
import { IdentityModule } from '#libs/identity';
import { HealthController } from '#libs/observability';
import { AdminAuthGuard } from './admin-auth.guard.js';
import { AdminTokenStrategy } from './admin-token.strategy.js';
import { ADMIN_OIDC_CLIENT } from './admin-sso.js';
import { AdminLoginController } from './admin-login.controller.js';
import { AdminLoginService } from './admin-login.service.js';
import { BreakGlassLogin } from './break-glass-login.service.js';
import { BreakGlassCredential } from './break-glass.credential.js';
import { AdminSessionRepository } from './admin-session.repository.js';
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
import { NodeStatsRepository } from './node-stats.repository.js';
import { NodeStatsSampler } from './node-stats.sampler.js';
import { OverviewController } from './overview.controller.js';
import { ReadOverview } from './read-overview.js';
import { TestPolicy } from './test-policy.js';

/** How the admin plane is hosted. */
export interface AdminPlaneOptions {
  /** The process also routes agents (the gateway): it publishes its node's throughput for the Overview. */
  routesAgents: boolean;
}

/** The admin plane, served on its own listener (`ADMIN_HOST`:`ADMIN_PORT`). */
@Module({})
export class AdminModule {
  static forRoot(config: GatewayConfig, options: AdminPlaneOptions = { routesAgents: false }): DynamicModule {
    return {
      module: AdminModule,
      imports: [IdentityModule, AuthThrottleModule, PassportModule, PolicyModule, RateLimitModule, SessionAdminModule, A2AOutboundModule],
      controllers: [
        HealthController,
        MetricsController,
        TenantsController,
        AgentsController,
        CredentialsController,
        PoliciesController,
        RateLimitsController,
        AuditController,
        SessionsController,
        AdminLoginController,
        OverviewController,
      ],
      providers: [
        AdminTokenStrategy,
        AdminAccess,
        AdminLoginService,
        AdminSessionRepository,
        BreakGlassCredential,
        BreakGlassLogin,
        NodeStatsRepository,
        ReadOverview,
        TestPolicy,
        ...(options.routesAgents ? [NodeStatsSampler] : []),
        { provide: ADMIN_OIDC_CLIENT, useValue: config.adminOidc ? new OidcIssuerClient(config.adminOidc, 'AdminOidc') : null },
        // In this order: who is calling (401), then whether their role allows the route (403).
        { provide: APP_GUARD, useClass: AdminAuthGuard },
        { provide: APP_GUARD, useClass: RolesGuard },
        { provide: APP_PIPE, useFactory: adminValidationPipe },
      ],
    };
  }
}
