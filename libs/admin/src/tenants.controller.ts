import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { TenantService } from '#libs/identity';
import { CurrentAdmin } from './admin-auth.guard.js';
import { actorOf, type AdminPrincipal } from './admin-principal.js';
import { presentPage, presentTenant } from './admin.presenters.js';
import { pageQuerySchema, tenantCreateSchema, type PageQueryDto, type TenantCreateDto } from './admin.schemas.js';

/** `/admin/v1/tenants`. */
@Controller('admin/v1/tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantService) {}

  @Post()
  async create(@Body({ schema: tenantCreateSchema }) body: TenantCreateDto, @CurrentAdmin() admin: AdminPrincipal) {
    return presentTenant(await this.tenants.create(body.tenant_id, body.name, actorOf(admin)));
  }

  @Get()
  async list(@Query({ schema: pageQuerySchema }) query: PageQueryDto) {
    return presentPage(await this.tenants.list(query), presentTenant);
  }
}
