import { describe, expect, it } from 'vitest';
import type { AuditFilter, AuditQueryService, AuditTrail, VerifyAuditChains, VerifyAuditChainsCommand } from '#libs/audit';
import { AdminAccess } from './admin-access.js';
import { GatewayError } from '#libs/protocol';
import type { AdminPrincipal } from './admin-principal.js';
import { AuditController } from './audit.controller.js';

/** Records what the controller asks the query service for. */
function controllerWithSpy(): { controller: AuditController; pages: AuditFilter[]; verified: (string | null | undefined)[] } {
  const pages: AuditFilter[] = [];
  const verified: (string | null | undefined)[] = [];
  const service = {
    page: (filter: AuditFilter) => {
      pages.push(filter);
      return Promise.resolve({ items: [], next_cursor: null });
    },
  } as unknown as AuditQueryService;
  const verifier = {
    execute: (command: VerifyAuditChainsCommand) => {
      verified.push(command.tenantId);
      return Promise.resolve({ ok: true, checked: 0, complete: true, next_cursor: null });
    },
  } as unknown as VerifyAuditChains;
  const audit = { record: () => undefined } as unknown as AuditTrail;
  return { controller: new AuditController(service, verifier, new AdminAccess(audit, null as never, null as never)), pages, verified };
}

const globalAdmin: AdminPrincipal = {
  kind: 'break_glass',
  subject: 'break-glass',
  roles: ['admin'],
  tenantId: null,
  request: 'GET /admin/v1/audit',
  remoteAddr: null,
};
const boundAdmin: AdminPrincipal = {
  kind: 'sso',
  subject: 'alice',
  roles: ['auditor'],
  tenantId: 'acme',
  request: 'GET /admin/v1/audit',
  remoteAddr: null,
};

describe('AuditController tenant scope', () => {
  it('passes the filters of an admin of every tenant through', async () => {
    const { controller, pages, verified } = controllerWithSpy();
    await controller.list({ limit: 50, tenant_id: 'globex', action: 'message.routed', agent_id: 'a1' }, globalAdmin);
    await controller.list({ limit: 50 }, globalAdmin);
    await controller.verify({ limit: 10 }, globalAdmin);
    expect(pages).toEqual([{ tenantId: 'globex', action: 'message.routed', agentId: 'a1' }, {}]);
    expect(verified).toEqual([undefined]);
  });

  it('confines a tenant-bound admin to its tenant, even without a tenant filter', async () => {
    const { controller, pages, verified } = controllerWithSpy();
    await controller.list({ limit: 50 }, boundAdmin);
    await controller.list({ limit: 50, tenant_id: 'acme', since: '2026-01-01T00:00:00Z' }, boundAdmin);
    await controller.verify({ limit: 10 }, boundAdmin);
    expect(pages).toEqual([{ tenantId: 'acme' }, { tenantId: 'acme', since: new Date('2026-01-01T00:00:00Z') }]);
    expect(verified).toEqual(['acme']);
  });

  it('refuses a tenant-bound admin another tenant with FORBIDDEN', () => {
    const { controller, pages, verified } = controllerWithSpy();
    const codeOf = (call: () => unknown): string | undefined => {
      try {
        call();
      } catch (error) {
        return error instanceof GatewayError ? error.code : 'not a GatewayError';
      }
      return undefined;
    };
    expect(codeOf(() => controller.list({ limit: 50, tenant_id: 'globex' }, boundAdmin))).toBe('FORBIDDEN');
    expect(codeOf(() => controller.verify({ tenant_id: 'globex', limit: 10 }, boundAdmin))).toBe('FORBIDDEN');
    expect(pages).toEqual([]);
    expect(verified).toEqual([]);
  });
});
