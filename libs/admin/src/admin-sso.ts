import type { AccessTokenClaims } from '#libs/auth';
import type { AdminRoleGrant, GatewayConfig } from '#libs/config';
import { GatewayError, unauthorized } from '#libs/protocol';
import type { AdminRole } from './admin-principal.js';

/** The client of `ADMIN_OIDC_ISSUER`, or null when admin SSO is not configured. */
export const ADMIN_OIDC_CLIENT = Symbol('ADMIN_OIDC_CLIENT');

type SsoSettings = NonNullable<GatewayConfig['adminOidc']>;

/** What an SSO token grants: roles, and the one tenant the admin is bound to (or none). */
export interface SsoGrant {
  subject: string;
  roles: AdminRole[];
  tenantId: string | null;
}

/**
 * Maps a validated admin access token to roles. The values of `ADMIN_ROLE_CLAIM` (a string, a
 * space-separated string or an array, at a dotted path) are looked up in `ADMIN_ROLE_MAP`; values
 * it does not name grant nothing. An admin is bound to a tenant by `ADMIN_TENANT_CLAIM` or by a
 * tenant-scoped entry of the map; when any grant is tenant-bound the whole admin is (the narrowest
 * reading wins), and grants naming two different tenants are refused. No role: FORBIDDEN.
 */
export function grantOf(claims: AccessTokenClaims, settings: SsoSettings): SsoGrant {
  const subject = typeof claims.sub === 'string' ? claims.sub : typeof claims.client_id === 'string' ? claims.client_id : null;
  if (subject === null) throw unauthorized('missing_claim', 'admin access token has no subject');
  const grants: AdminRoleGrant[] = claimValues(claims, settings.roleClaim).flatMap((value) => settings.roleMap[value] ?? []);
  if (grants.length === 0) throw new GatewayError('FORBIDDEN', `no admin role: claim "${settings.roleClaim}" names none of ADMIN_ROLE_MAP`);
  const tenants = new Set(grants.flatMap((g) => (g.tenantId === null ? [] : [g.tenantId])));
  if (settings.tenantClaim !== undefined) {
    const claimed = claims[settings.tenantClaim];
    if (typeof claimed === 'string' && claimed.length > 0) tenants.add(claimed);
  }
  if (tenants.size > 1) throw new GatewayError('FORBIDDEN', 'admin token binds to several tenants; an admin is bound to at most one');
  const roles = [...new Set(grants.map((g) => g.role))];
  return { subject, roles, tenantId: [...tenants][0] ?? null };
}

/** The values at a dotted claim path: a string (space-separated values), or an array of strings. */
export function claimValues(claims: Record<string, unknown>, path: string): string[] {
  let value: unknown = claims;
  for (const part of path.split('.')) {
    value = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}
