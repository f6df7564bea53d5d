import { describe, expect, it } from 'vitest';
import type { GatewayConfig } from '#libs/config';
import { GatewayError } from '#libs/protocol';
import { claimValues, grantOf } from './admin-sso.js';

const settings = {
  roleClaim: 'groups',
  roleMap: {
    'gw-admins': { role: 'admin', tenantId: null },
    'gw-ops': { role: 'operator', tenantId: null },
    'gw-audit': { role: 'auditor', tenantId: null },
    'acme-ops': { role: 'operator', tenantId: 'acme' },
    'globex-admins': { role: 'admin', tenantId: 'globex' },
  },
  tenantClaim: 'tenant',
} as unknown as NonNullable<GatewayConfig['adminOidc']>;

const codeOf = (call: () => unknown): string | undefined => {
  try {
    call();
  } catch (error) {
    return error instanceof GatewayError ? error.code : 'other';
  }
  return undefined;
};

describe('admin SSO grants', () => {
  it('maps the values of the role claim through ADMIN_ROLE_MAP', () => {
    expect(grantOf({ sub: 'alice', groups: ['gw-admins', 'unrelated'] }, settings)).toEqual({
      subject: 'alice',
      roles: ['admin'],
      tenantId: null,
    });
    expect(grantOf({ sub: 'bob', groups: 'gw-ops gw-audit' }, settings)).toEqual({
      subject: 'bob',
      roles: ['operator', 'auditor'],
      tenantId: null,
    });
  });

  it('binds to a tenant by a scoped entry or by the tenant claim, the narrowest reading winning', () => {
    expect(grantOf({ sub: 'carol', groups: ['acme-ops'] }, settings)).toMatchObject({ roles: ['operator'], tenantId: 'acme' });
    expect(grantOf({ sub: 'dan', groups: ['gw-admins'], tenant: 'acme' }, settings)).toMatchObject({ roles: ['admin'], tenantId: 'acme' });
    expect(grantOf({ sub: 'erin', groups: ['gw-audit', 'acme-ops'] }, settings)).toMatchObject({ tenantId: 'acme' });
  });

  it('refuses a token without a mapped role, or bound to two tenants', () => {
    expect(codeOf(() => grantOf({ sub: 'mallory', groups: ['everyone'] }, settings))).toBe('FORBIDDEN');
    expect(codeOf(() => grantOf({ sub: 'mallory' }, settings))).toBe('FORBIDDEN');
    expect(codeOf(() => grantOf({ sub: 'mallory', groups: ['acme-ops', 'globex-admins'] }, settings))).toBe('FORBIDDEN');
    expect(codeOf(() => grantOf({ sub: 'mallory', groups: ['acme-ops'], tenant: 'globex' }, settings))).toBe('FORBIDDEN');
    expect(codeOf(() => grantOf({ groups: ['gw-admins'] }, settings))).toBe('UNAUTHORIZED');
  });

  it('reads dotted paths (Keycloak realm_access.roles) and ignores non-strings', () => {
    expect(claimValues({ realm_access: { roles: ['a', 1, 'b'] } }, 'realm_access.roles')).toEqual(['a', 'b']);
    expect(claimValues({ roles: { nested: 'x' } }, 'roles')).toEqual([]);
    expect(claimValues({}, 'a.b.c')).toEqual([]);
  });
});
