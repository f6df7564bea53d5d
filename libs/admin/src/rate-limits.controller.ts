import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiRoute } from './openapi.js';
import { rateLimitDocumentSchema } from '#libs/ratelimit';
import { RateLimitConfigService, type RateLimitView } from '#libs/ratelimit';
import { AdminAccess, Roles } from './admin-access.js';
import { CurrentAdmin } from './admin-auth.guard.js';
import { actorOf, type AdminPrincipal } from './admin-principal.js';

/** `/admin/v1/rate-limits` (contract §7.2): the deployment's limits, applied on every node at once. */
@Controller('admin/v1/rate-limits')
export class RateLimitsController {
  constructor(
    private readonly limits: RateLimitConfigService,
    private readonly access: AdminAccess,
  ) {}

  /** The document spans every tenant: not for tenant-bound admins. */
  @Get()
  @Roles('operator')
  @ApiRoute({ summary: 'Read the rate-limit document (§7.2)', response: 'rateLimits' })
  read(@CurrentAdmin() admin: AdminPrincipal): Promise<RateLimitView> {
    this.access.tenant(admin, null);
    return this.limits.view();
  }

  @Put()
  @Roles()
  @ApiRoute({ summary: 'Replace the rate-limit document (§7.2)', body: rateLimitDocumentSchema, response: 'rateLimits' })
  async replace(@Body() body: unknown, @CurrentAdmin() admin: AdminPrincipal): Promise<RateLimitView> {
    this.access.tenant(admin, null);
    return (await this.limits.put(body, actorOf(admin))).after;
  }
}
