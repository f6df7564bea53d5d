import { Controller, Delete, Get, HttpCode, Param, Query } from '@nestjs/common';
import { ApiRoute } from './openapi.js';
import { SessionAdminService, type SessionView } from '#libs/routing';
import { AdminAccess, Roles } from './admin-access.js';
import { CurrentAdmin } from './admin-auth.guard.js';
import { actorOf, type AdminPrincipal } from './admin-principal.js';
import { sessionIdParamSchema, sessionListQuerySchema, type SessionListQueryDto } from './admin.schemas.js';

/**
 * `/admin/v1/sessions`: live connections on every node (from the shared presence), and the kick,
 * which reaches the node holding the session through Redis and closes it with `revoked`.
 */
@Controller('admin/v1/sessions')
@Roles('operator')
export class SessionsController {
  constructor(
    private readonly sessions: SessionAdminService,
    private readonly access: AdminAccess,
  ) {}

  @Get()
  @ApiRoute({ summary: 'Live sessions on every node', query: sessionListQuerySchema, response: 'session', page: true })
  list(
    @Query({ schema: sessionListQuerySchema }) query: SessionListQueryDto,
    @CurrentAdmin() admin: AdminPrincipal,
  ): Promise<{ items: SessionView[]; next_cursor: string | null }> {
    if (query.tenant_id !== undefined) this.access.tenant(admin, query.tenant_id);
    return this.sessions.list({ tenantId: admin.tenantId ?? query.tenant_id, agentId: query.agent_id }, query.limit, query.cursor);
  }

  @Delete(':sessionId')
  @HttpCode(204)
  @ApiRoute({ summary: 'Close a session on whichever node holds it', response: 'none' })
  async kick(
    @Param('sessionId', { schema: sessionIdParamSchema }) sessionId: string,
    @CurrentAdmin() admin: AdminPrincipal,
  ): Promise<void> {
    const session = await this.sessions.find(sessionId);
    this.access.tenant(admin, session.tenant_id);
    await this.sessions.kick(session, actorOf(admin));
  }
}
