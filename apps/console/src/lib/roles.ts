import type { AdminSession } from './api';

/** The console's pages, in navigation order, with the names of contract §11. */
export const PAGES = [
  { path: '/overview', name: 'Overview' },
  { path: '/agents', name: 'Agents' },
  { path: '/sessions', name: 'Sessions' },
  { path: '/tenants', name: 'Tenants' },
  { path: '/policies', name: 'Policies' },
  { path: '/rate-limits', name: 'Rate limits' },
  { path: '/audit', name: 'Audit' },
] as const;

export type PagePath = (typeof PAGES)[number]['path'];

/**
 * The pages an admin may use, as the admin API's roles allow them (§7): `auditor` reads audit only;
 * `operator` manages agents, credentials and sessions and reads tenants, policies and limits;
 * `admin` everything. The rate-limit document spans all tenants, so a tenant-bound admin has no
 * Rate limits page. The API enforces all of this anyway; the console only hides what would fail.
 */
export function visiblePages(session: Pick<AdminSession, 'roles' | 'tenant_id'>): PagePath[] {
  const admin = session.roles.includes('admin');
  const operator = admin || session.roles.includes('operator');
  const auditor = admin || session.roles.includes('auditor');
  return PAGES.filter(({ path }) => {
    switch (path) {
      case '/audit':
        return auditor;
      case '/rate-limits':
        return operator && session.tenant_id === null;
      default:
        return operator;
    }
  }).map((page) => page.path);
}

/** What an admin may change, beyond reading (the same split as the API's `@Roles`). */
export function permissions(session: Pick<AdminSession, 'roles' | 'tenant_id'>) {
  const admin = session.roles.includes('admin');
  return {
    /** Policies, rate limits. */
    editDocuments: admin,
    /** Tenants are created by admins of the whole deployment. */
    createTenants: admin && session.tenant_id === null,
    manageAgents: admin || session.roles.includes('operator'),
  };
}
