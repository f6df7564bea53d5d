import { describe, expect, it } from 'vitest';
import { permissions, visiblePages } from './roles';

describe('visiblePages', () => {
  it('shows an auditor the Audit page only', () => {
    expect(visiblePages({ roles: ['auditor'], tenant_id: null })).toEqual(['/audit']);
  });

  it('shows an operator everything but Audit, and an admin everything', () => {
    expect(visiblePages({ roles: ['operator'], tenant_id: null })).toEqual([
      '/overview',
      '/agents',
      '/sessions',
      '/tenants',
      '/policies',
      '/rate-limits',
    ]);
    expect(visiblePages({ roles: ['admin'], tenant_id: null })).toHaveLength(7);
  });

  it('hides the deployment-wide rate limits from a tenant-bound admin', () => {
    expect(visiblePages({ roles: ['admin'], tenant_id: 'acme' })).not.toContain('/rate-limits');
    expect(permissions({ roles: ['admin'], tenant_id: 'acme' })).toMatchObject({ createTenants: false, editDocuments: true });
    expect(permissions({ roles: ['operator'], tenant_id: null })).toMatchObject({ editDocuments: false, manageAgents: true });
  });
});
