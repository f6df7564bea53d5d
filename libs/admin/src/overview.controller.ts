import { Controller, Get } from '@nestjs/common';
import { Roles } from './admin-access.js';
import { CurrentAdmin } from './admin-auth.guard.js';
import type { AdminPrincipal } from './admin-principal.js';
import { ApiRoute } from './openapi.js';
import { ReadOverview, type OverviewView } from './read-overview.js';

/** `GET /admin/v1/overview`: the console's Overview (nodes, sessions, messages/s, audit lag, readiness) in one call. */
@Controller('admin/v1/overview')
@Roles('operator')
export class OverviewController {
  constructor(private readonly overview: ReadOverview) {}

  @Get()
  @ApiRoute({ summary: 'Nodes with their sessions and messages/s, audit lag, readiness of Postgres and Redis', response: 'overview' })
  read(@CurrentAdmin() admin: AdminPrincipal): Promise<OverviewView> {
    return this.overview.execute(admin);
  }
}
