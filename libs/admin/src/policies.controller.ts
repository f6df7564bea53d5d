import { Body, Controller, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiRoute } from './openapi.js';
import { policyDocumentSchema } from '#libs/policy';
import { TenantService } from '#libs/identity';
import { PolicyService, type PolicyView } from '#libs/policy';
import { AdminAccess, Roles } from './admin-access.js';
import { CurrentAdmin } from './admin-auth.guard.js';
import { actorOf, type AdminPrincipal } from './admin-principal.js';
import { policyTestSchema, tenantIdParamSchema, type PolicyTestDto } from './admin.schemas.js';
import { TestPolicy, type PolicyTestView } from './test-policy.js';

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
    private readonly dryRun: TestPolicy,
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

  /** A dry run: who may read the policy may test it (nothing is changed or sent). */
  @Post('test')
  @HttpCode(200)
  @Roles('operator')
  @ApiRoute({
    summary: 'Evaluate a would-be send, publish or subscribe against the saved or an unsaved policy (§7.1)',
    body: policyTestSchema,
    response: 'policyTest',
  })
  async test(
    @Param('tenantId', { schema: tenantIdParamSchema }) tenantId: string,
    @Body({ schema: policyTestSchema }) body: PolicyTestDto,
    @CurrentAdmin() admin: AdminPrincipal,
  ): Promise<PolicyTestView> {
    this.access.tenant(admin, tenantId);
    // The receiver's policy of another tenant is that tenant's business.
    if (body.action === 'send' && body.to.tenant_id !== undefined) this.access.tenant(admin, body.to.tenant_id);
    await this.tenants.get(tenantId);
    return this.dryRun.execute(tenantId, body);
  }
}
