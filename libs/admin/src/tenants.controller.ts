import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { TenantService } from '#libs/identity';
import { presentPage, presentTenant } from './admin.presenters.js';
import { pageQuerySchema, tenantCreateSchema, type PageQueryDto, type TenantCreateDto } from './admin.schemas.js';

/** `/admin/v1/tenants`. */
@Controller('admin/v1/tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantService) {}

  @Post()
  async create(@Body({ schema: tenantCreateSchema }) body: TenantCreateDto) {
    return presentTenant(await this.tenants.create(body.tenant_id, body.name));
  }

  @Get()
  async list(@Query({ schema: pageQuerySchema }) query: PageQueryDto) {
    return presentPage(await this.tenants.list(query), presentTenant);
  }
}
