import { Injectable } from '@nestjs/common';
import { AuditTrail, type AuditActor } from '#libs/audit';
import type { Tenant } from '#libs/persistence';
import { GatewayError, TENANT_ID_PATTERN } from '#libs/protocol';
import type { Page, PageRequest } from './paging.js';
import { recordMutation } from './admin-audit.js';
import { TenantRepository } from './tenant.repository.js';

/** Tenants: each owns agents, credentials, policy and audit records. */
@Injectable()
export class TenantService {
  constructor(
    private readonly tenants: TenantRepository,
    private readonly audit: AuditTrail,
  ) {}

  async create(id: string, name: string, actor: AuditActor): Promise<Tenant> {
    assertTenantId(id);
    const tenant = await this.tenants.create(id, name);
    recordMutation(this.audit, actor, 'tenant.created', id, id, { after: { tenant_id: id, name } });
    return tenant;
  }

  /** Creates the tenant, or returns it unchanged when it exists. */
  async ensure(id: string, name: string, actor: AuditActor): Promise<Tenant> {
    assertTenantId(id);
    const existed = await this.tenants.find(id);
    const tenant = await this.tenants.ensure(id, name);
    if (!existed) recordMutation(this.audit, actor, 'tenant.created', id, id, { after: { tenant_id: id, name: tenant.name } });
    return tenant;
  }

  async get(id: string): Promise<Tenant> {
    const tenant = await this.tenants.find(id);
    if (!tenant) throw new GatewayError('NOT_FOUND', `tenant "${id}" does not exist`);
    return tenant;
  }

  list(page: PageRequest): Promise<Page<Tenant>> {
    return this.tenants.list(page);
  }
}

function assertTenantId(id: string): void {
  if (!TENANT_ID_PATTERN.test(id)) throw new GatewayError('INVALID_MESSAGE', 'tenant_id: must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$');
}
