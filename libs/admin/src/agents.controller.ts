import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiRoute } from './openapi.js';
import { RemoteAgentRegistration } from '#libs/a2a';
import { AgentService, TenantService } from '#libs/identity';
import { AdminAccess, Roles } from './admin-access.js';
import { CurrentAdmin } from './admin-auth.guard.js';
import { actorOf, type AdminPrincipal } from './admin-principal.js';
import { presentAgent, presentPage } from './admin.presenters.js';
import {
  agentCreateSchema,
  agentIdParamSchema,
  agentListQuerySchema,
  agentUpdateSchema,
  type AgentCreateDto,
  type AgentListQueryDto,
  type AgentUpdateDto,
} from './admin.schemas.js';

/** `/admin/v1/agents`: registration and lifecycle. Disabling or deleting ends the agent's sessions. */
@Controller('admin/v1/agents')
@Roles('operator')
export class AgentsController {
  constructor(
    private readonly agents: AgentService,
    private readonly tenants: TenantService,
    private readonly access: AdminAccess,
    private readonly remotes: RemoteAgentRegistration,
  ) {}

  @Post()
  @ApiRoute({ summary: 'Register an agent', body: agentCreateSchema, response: 'agent', status: 201 })
  async register(@Body({ schema: agentCreateSchema }) body: AgentCreateDto, @CurrentAdmin() admin: AdminPrincipal) {
    this.access.tenant(admin, body.tenant_id);
    await this.tenants.get(body.tenant_id);
    if (body.a2a_url !== undefined) await this.remotes.checkUrl(body.a2a_url);
    const agent = await this.agents.register(
      {
        id: body.agent_id,
        tenantId: body.tenant_id,
        name: body.agent_name ?? body.agent_id,
        capabilities: body.capabilities ?? [],
        description: body.description ?? null,
        metadata: body.metadata ?? {},
        ...(body.status && { status: body.status }),
        ...(body.a2a_url !== undefined && { a2aUrl: body.a2a_url }),
        ...(body.a2a_credential && { a2aCredential: this.remotes.seal(body.agent_id, body.a2a_credential) }),
      },
      actorOf(admin),
    );
    return presentAgent(agent);
  }

  @Get()
  @ApiRoute({ summary: 'List agents', query: agentListQuerySchema, response: 'agent', page: true })
  async list(@Query({ schema: agentListQuerySchema }) query: AgentListQueryDto, @CurrentAdmin() admin: AdminPrincipal) {
    if (query.tenant_id !== undefined) this.access.tenant(admin, query.tenant_id);
    const tenantId = admin.tenantId ?? query.tenant_id;
    return presentPage(await this.agents.list({ tenantId, status: query.status }, query), presentAgent);
  }

  @Get(':agentId')
  @ApiRoute({ summary: 'Read an agent', response: 'agent' })
  async read(@Param('agentId', { schema: agentIdParamSchema }) agentId: string, @CurrentAdmin() admin: AdminPrincipal) {
    await this.access.agent(admin, agentId);
    return presentAgent(await this.agents.get(agentId));
  }

  @Patch(':agentId')
  @ApiRoute({ summary: 'Change an agent (status disabled disconnects it)', body: agentUpdateSchema, response: 'agent' })
  async change(
    @Param('agentId', { schema: agentIdParamSchema }) agentId: string,
    @Body({ schema: agentUpdateSchema }) body: AgentUpdateDto,
    @CurrentAdmin() admin: AdminPrincipal,
  ) {
    await this.access.agent(admin, agentId);
    if (typeof body.a2a_url === 'string') await this.remotes.checkUrl(body.a2a_url);
    const { after } = await this.agents.update(
      agentId,
      {
        ...(body.agent_name !== undefined && { name: body.agent_name }),
        ...(body.capabilities !== undefined && { capabilities: body.capabilities }),
        ...(body.description !== undefined && { description: body.description }),
        ...(body.metadata !== undefined && { metadata: body.metadata }),
        ...(body.status !== undefined && { status: body.status }),
        ...(body.a2a_url !== undefined && { a2aUrl: body.a2a_url }),
        ...(body.a2a_credential !== undefined && {
          a2aCredential: body.a2a_credential && this.remotes.seal(agentId, body.a2a_credential),
        }),
      },
      actorOf(admin),
    );
    return presentAgent(after);
  }

  @Delete(':agentId')
  @HttpCode(204)
  @ApiRoute({ summary: 'Remove an agent', response: 'none' })
  async remove(@Param('agentId', { schema: agentIdParamSchema }) agentId: string, @CurrentAdmin() admin: AdminPrincipal): Promise<void> {
    await this.access.agent(admin, agentId);
    await this.agents.remove(agentId, actorOf(admin));
  }
}
