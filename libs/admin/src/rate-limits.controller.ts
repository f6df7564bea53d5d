import { Body, Controller, Get, Put } from '@nestjs/common';
import { RateLimitConfigService, type RateLimitView } from '#libs/ratelimit';
import { CurrentAdmin } from './admin-auth.guard.js';
import { actorOf, type AdminPrincipal } from './admin-principal.js';

/** `/admin/v1/rate-limits` (contract §7.2): the deployment's limits, applied on every node at once. */
@Controller('admin/v1/rate-limits')
export class RateLimitsController {
  constructor(private readonly limits: RateLimitConfigService) {}

  @Get()
  read(): Promise<RateLimitView> {
    return this.limits.view();
  }

  @Put()
  async replace(@Body() body: unknown, @CurrentAdmin() admin: AdminPrincipal): Promise<RateLimitView> {
    return (await this.limits.put(body, actorOf(admin))).after;
  }
}
