import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AuditTrail } from '#libs/audit';
import { AuthThrottle } from '#libs/auth';
import { unauthorized } from '#libs/protocol';
import { AdminLoginService } from './admin-login.service.js';
import { BreakGlassCredential } from './break-glass.credential.js';

/**
 * The console's break-glass sign-in: `ADMIN_TOKEN` typed into the sign-in form becomes the same
 * HttpOnly session cookie as an SSO login (role `admin`, actor `break-glass`). Throttled per address
 * like every admin authentication, refused from another origin, and every attempt is an
 * `admin.login` record. The token itself is never stored: the session keeps a fingerprint of it,
 * so rotating `ADMIN_TOKEN` ends every break-glass session.
 */
@Injectable()
export class BreakGlassLogin {
  constructor(
    private readonly throttle: AuthThrottle,
    private readonly audit: AuditTrail,
    private readonly login: AdminLoginService,
    private readonly credential: BreakGlassCredential,
  ) {}

  async signIn(request: Request, token: string): Promise<{ cookie: string; expiresAt: string }> {
    const remoteAddr = this.login.remoteAddr(request);
    const address = `admin:${remoteAddr}`;
    await this.throttle.check(address);
    this.login.assertSameOrigin(request, null);
    const fingerprint = this.credential.fingerprint();
    if (!fingerprint || !this.credential.matches(token)) {
      await this.throttle.fail(address);
      this.record(remoteAddr, 'denied', 'UNAUTHORIZED', { why: fingerprint ? 'wrong token' : 'ADMIN_TOKEN is not set' });
      throw unauthorized(
        'invalid_admin_credential',
        fingerprint ? 'invalid admin token' : 'break-glass sign-in is off: ADMIN_TOKEN is not set',
      );
    }
    const session = await this.login.openSession({
      kind: 'break_glass',
      subject: 'break-glass',
      roles: ['admin'],
      tenantId: null,
      credentialFingerprint: fingerprint,
    });
    this.record(remoteAddr, 'allowed', null, { roles: ['admin'], expires_at: session.expiresAt });
    return session;
  }

  private record(remoteAddr: string, outcome: 'allowed' | 'denied', reason: string | null, details: Record<string, unknown>): void {
    this.audit.record({
      action: 'admin.login',
      tenant_id: null,
      actor: { type: 'admin', id: 'break-glass' },
      subject: 'break-glass',
      outcome,
      reason,
      session_id: null,
      remote_addr: remoteAddr,
      details: { method: 'break_glass', ...details },
    });
  }
}
