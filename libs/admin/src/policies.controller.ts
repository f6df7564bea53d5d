import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiRoute } from './openapi.js';
import { policyDocumentSchema } from '#libs/policy';
import { TenantService } from '#libs/identity';
import { PolicyService, type PolicyView } from '#libs/policy';
import { AdminAccess, Roles } from './admin-access.js';
import { CurrentAdmin } from './admin-auth.guard.js';
import { actorOf, type AdminPrincipal } from './admin-principal.js';
import { tenantIdParamSchema } from './admin.schemas.js';

/**
 * `/admin/v1/tenants/{tenant_id}/policy` (contract §7.1). The body of PUT is the policy document
 * itself; a faulty one is refused with 400 naming the rule and field.
 */
@Controller('admin/v1/tenants/:tenantId/policy')
export class PoliciesController {
  constructor(
    private readonly policies: PolicyService,
    private readonly tenants: TenantService,
    private readonly access: AdminAccess,
  ) {}

  /** Operators read policies (they manage the agents the rules speak of); only admins change them. */
  @Get()
  @Roles('operator')
  @ApiRoute({ summary: "Read a tenant's policy (§7.1)", response: 'policy' })
  async read(
    @Param('tenantId', { schema: tenantIdParamSchema }) tenantId: string,
    @CurrentAdmin() admin: AdminPrincipal,
  ): Promise<PolicyView> {
    this.access.tenant(admin, tenantId);
    await this.tenants.get(tenantId);
    return this.policies.view(tenantId);
  }

  @Put()
  @Roles()
  @ApiRoute({ summary: "Replace a tenant's policy (§7.1)", body: policyDocumentSchema, response: 'policy' })
  async replace(
    @Param('tenantId', { schema: tenantIdParamSchema }) tenantId: string,
    @Body() body: unknown,
    @CurrentAdmin() admin: AdminPrincipal,
  ): Promise<PolicyView> {
    this.access.tenant(admin, tenantId);
    await this.tenants.get(tenantId);
    return (await this.policies.put(tenantId, body, actorOf(admin))).after;
  }
}
