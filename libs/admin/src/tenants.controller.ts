import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { ApiRoute } from './openapi.js';
import { TenantService } from '#libs/identity';
import { AdminAccess, Roles } from './admin-access.js';
import { CurrentAdmin } from './admin-auth.guard.js';
import { actorOf, type AdminPrincipal } from './admin-principal.js';
import { presentPage, presentTenant } from './admin.presenters.js';
import { pageQuerySchema, tenantCreateSchema, type PageQueryDto, type TenantCreateDto } from './admin.schemas.js';

/** `/admin/v1/tenants`. */
@Controller('admin/v1/tenants')
export class TenantsController {
  constructor(
    private readonly tenants: TenantService,
    private readonly access: AdminAccess,
  ) {}

  /** Creating tenants is for admins of the whole deployment. */
  @Post()
  @Roles()
  @ApiRoute({ summary: 'Create a tenant', body: tenantCreateSchema, response: 'tenant', status: 201 })
  async create(@Body({ schema: tenantCreateSchema }) body: TenantCreateDto, @CurrentAdmin() admin: AdminPrincipal) {
    this.access.tenant(admin, null);
    return presentTenant(await this.tenants.create(body.tenant_id, body.name, actorOf(admin)));
  }

  /** A tenant-bound admin sees its own tenant only. */
  @Get()
  @Roles('operator')
  @ApiRoute({ summary: 'List tenants', query: pageQuerySchema, response: 'tenant', page: true })
  async list(@Query({ schema: pageQuerySchema }) query: PageQueryDto, @CurrentAdmin() admin: AdminPrincipal) {
    if (admin.tenantId !== null) return { items: [presentTenant(await this.tenants.get(admin.tenantId))], next_cursor: null };
    return presentPage(await this.tenants.list(query), presentTenant);
  }
}
