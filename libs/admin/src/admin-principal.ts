import type { AdminRoleName } from '#libs/config';

/** The roles of the admin API (contract §7). */
export type AdminRole = AdminRoleName;

/** Who is calling the admin API. Guards and controllers see this, never the raw credential. */
export interface AdminPrincipal {
  /** `break_glass` for `ADMIN_TOKEN`; `sso` for an access token of `ADMIN_OIDC_ISSUER`. */
  kind: 'break_glass' | 'sso';
  /** Who, for the audit trail: `break-glass`, or the SSO subject. */
  subject: string;
  roles: AdminRole[];
  /** Set when the admin is bound to one tenant and may only see and change that tenant. */
  tenantId: string | null;
  /** The request, for denial records: `PATCH /admin/v1/agents/planner-1`. */
  request: string;
  remoteAddr: string | null;
  /** Set when the caller is the console, authenticated by its session cookie. */
  console?: ConsoleSession;
}

/** The console session behind a cookie-authenticated request. */
export interface ConsoleSession {
  /** The SHA-256 of the cookie value: the session's key in Redis. */
  key: string;
  expiresAt: string;
  /** What changes must send back in `X-CSRF-Token`. */
  csrfToken: string;
  /** Break-glass sessions: the fingerprint of the `ADMIN_TOKEN` they were opened with. */
  credentialFingerprint?: string | undefined;
}

/** The admin as the author of an audit record. */
export function actorOf(admin: AdminPrincipal): { type: 'admin'; id: string } {
  return { type: 'admin', id: admin.subject };
}
