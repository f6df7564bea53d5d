import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AuditTrail } from '#libs/audit';
import { AgentService, CredentialService, type CredentialKind } from '#libs/identity';
import { PUBLIC_ROUTE } from '#libs/observability';
import { GatewayError, unauthorized } from '#libs/protocol';
import type { AdminPrincipal, AdminRole } from './admin-principal.js';

const ROLES = Symbol('admin-roles');

/**
 * The roles that may call a route, declared next to it. `admin` may call every route; a route of
 * the admin API without `@Roles` is refused to everyone (fail closed).
 */
export const Roles = (...roles: AdminRole[]) => SetMetadata(ROLES, roles);

/** Checks that a tenant-bound admin stays in its tenant, and writes every refusal to the audit trail. */
@Injectable()
export class AdminAccess {
  constructor(
    private readonly audit: AuditTrail,
    private readonly agents: AgentService,
    private readonly credentials: CredentialService,
  ) {}

  /** A 403 `FORBIDDEN`, recorded as `admin.denied`. */
  deny(admin: AdminPrincipal, why: string, tenantId: string | null = null): GatewayError {
    this.audit.record({
      action: 'admin.denied',
      tenant_id: tenantId ?? admin.tenantId,
      actor: { type: 'admin', id: admin.subject },
      subject: admin.request,
      outcome: 'denied',
      reason: 'FORBIDDEN',
      session_id: null,
      remote_addr: admin.remoteAddr,
      details: { why, roles: admin.roles, bound_tenant: admin.tenantId },
    });
    return new GatewayError('FORBIDDEN', why);
  }

  /** Refuses a tenant-bound admin anything of another tenant (or of no tenant: global settings). */
  tenant(admin: AdminPrincipal, tenantId: string | null): void {
    if (admin.tenantId !== null && tenantId !== admin.tenantId) {
      throw this.deny(admin, `this admin is bound to tenant "${admin.tenantId}"`, tenantId);
    }
  }

  /** The same for an agent's tenant (an agent that does not exist is left to the route: 404). */
  async agent(admin: AdminPrincipal, agentId: string): Promise<void> {
    if (admin.tenantId === null) return;
    const agent = await this.agents.find(agentId);
    if (agent) this.tenant(admin, agent.tenantId);
  }

  /** The same for a credential's agent's tenant. */
  async credential(admin: AdminPrincipal, kind: CredentialKind, id: string): Promise<void> {
    if (admin.tenantId === null) return;
    const owner = await this.credentials.ownerOf(kind, id);
    if (owner) this.tenant(admin, owner.tenantId);
  }
}

/** The role check of every admin route, after authentication. Refusals are 403 and audited. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly access: AdminAccess,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const admin = context.switchToHttp().getRequest<Request & { user?: AdminPrincipal }>().user;
    if (!admin) throw unauthorized('no_credential', 'admin API needs Authorization: Bearer <token>');
    const allowed = this.reflector.getAllAndOverride<AdminRole[] | undefined>(ROLES, targets);
    if (admin.roles.includes('admin')) return true;
    if (allowed?.some((role) => admin.roles.includes(role))) return true;
    throw this.access.deny(admin, `needs role ${['admin', ...(allowed ?? [])].join(' or ')}; this admin has ${admin.roles.join(', ')}`);
  }
}
