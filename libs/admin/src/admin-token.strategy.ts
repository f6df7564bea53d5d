import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-custom';
import { AuditTrail } from '#libs/audit';
import { AuthThrottle, OidcIssuerClient } from '#libs/auth';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { GatewayError, unauthorized } from '#libs/protocol';
import type { AdminPrincipal } from './admin-principal.js';
import { ADMIN_OIDC_CLIENT, grantOf } from './admin-sso.js';
import { AdminLoginService } from './admin-login.service.js';
import { BreakGlassCredential } from './break-glass.credential.js';

/**
 * The admin API's bearer authentication: `ADMIN_TOKEN`, the break-glass credential (role `admin`,
 * actor `break-glass` in the audit trail), or an access token of `ADMIN_OIDC_ISSUER` validated by
 * the same code as agents' IdP tokens (`OidcIssuerClient`: JWKS or introspection), its roles and
 * tenant read by {@link grantOf}. Failures count towards the per-address brute-force limit; a valid
 * token without a role is FORBIDDEN and audited (`admin.denied`). Without an `Authorization`
 * header, the console's session cookie is checked instead ({@link AdminLoginService.principal}:
 * the session in Redis, and CSRF on changes).
 */
@Injectable()
export class AdminTokenStrategy extends PassportStrategy(Strategy, 'admin-bearer') {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly throttle: AuthThrottle,
    private readonly audit: AuditTrail,
    @Inject(ADMIN_OIDC_CLIENT) private readonly sso: OidcIssuerClient | null,
    private readonly login: AdminLoginService,
    private readonly breakGlass: BreakGlassCredential,
  ) {
    super();
  }

  async validate(request: Request): Promise<AdminPrincipal> {
    const remoteAddr = this.login.remoteAddr(request);
    const address = `admin:${remoteAddr}`;
    const route = `${request.method} ${request.path}`;
    await this.throttle.check(address);
    // A bearer token wins; without one, the browser session cookie of the admin console.
    if (request.headers.authorization === undefined) {
      const session = await this.login.principal(request, route, remoteAddr).catch(async (error: unknown) => {
        if (error instanceof GatewayError && error.code === 'UNAUTHORIZED') await this.throttle.fail(address);
        throw error;
      });
      if (session && !this.stale(session)) return session;
      if (session) {
        // A break-glass session outlives no rotation of ADMIN_TOKEN.
        await this.login.end(session);
        throw unauthorized('session_expired', 'ADMIN_TOKEN changed since this console session began; sign in again');
      }
    }
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (token === undefined) throw unauthorized('no_credential', 'admin API needs Authorization: Bearer <token> (or a console session)');
    if (this.breakGlass.matches(token)) {
      // Every use of the break-glass credential is on the record, reads included.
      this.audit.record({
        action: 'admin.break_glass',
        tenant_id: null,
        actor: { type: 'admin', id: 'break-glass' },
        subject: route,
        outcome: 'allowed',
        reason: null,
        session_id: null,
        remote_addr: remoteAddr,
        details: {},
      });
      return { kind: 'break_glass', subject: 'break-glass', roles: ['admin'], tenantId: null, request: route, remoteAddr };
    }
    if (this.sso && this.config.adminOidc) {
      let claims;
      try {
        claims = await this.sso.verifyAccessToken(token);
      } catch (error) {
        if (error instanceof GatewayError && error.code === 'UNAUTHORIZED') await this.throttle.fail(address);
        throw error;
      }
      try {
        const grant = grantOf(claims, this.config.adminOidc);
        return { kind: 'sso', ...grant, request: route, remoteAddr };
      } catch (error) {
        if (error instanceof GatewayError && error.code === 'FORBIDDEN') {
          this.audit.record({
            action: 'admin.denied',
            tenant_id: null,
            actor: { type: 'admin', id: typeof claims.sub === 'string' ? claims.sub : 'unknown' },
            subject: route,
            outcome: 'denied',
            reason: 'FORBIDDEN',
            session_id: null,
            remote_addr: remoteAddr,
            details: { why: error.message },
          });
        }
        throw error;
      }
    }
    await this.throttle.fail(address);
    throw unauthorized(
      'invalid_admin_credential',
      this.breakGlass.configured || this.sso
        ? 'invalid admin credential'
        : 'the admin API has no credential configured (set ADMIN_TOKEN or ADMIN_OIDC_ISSUER)',
    );
  }

  private stale(session: AdminPrincipal): boolean {
    return session.kind === 'break_glass' && session.console?.credentialFingerprint !== this.breakGlass.fingerprint();
  }
}
