import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import * as oidc from 'openid-client';
import { AuditTrail } from '#libs/audit';
import { resolveClientAddress, type AccessTokenClaims, type OidcIssuerClient } from '#libs/auth';
import { GATEWAY_CONFIG, addressMatcher, type GatewayConfig } from '#libs/config';
import { GatewayError, unauthorized } from '#libs/protocol';
import { AdminAccess } from './admin-access.js';
import type { AdminPrincipal, ConsoleSession } from './admin-principal.js';
import { AdminSessionRepository, type AdminSessionRecord } from './admin-session.repository.js';
import { ADMIN_OIDC_CLIENT, claimValues, grantOf } from './admin-sso.js';
import { parseCookies, serializeCookie } from './cookies.js';

/** How long a started login may take at the IdP before its state is forgotten. */
const LOGIN_TTL_S = 600;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Where a browser lands after signing in when `/admin/login` names nowhere. */
const DEFAULT_RETURN_TO = '/admin/session';
const CSRF_HEADER = 'x-csrf-token';

/** What the browser login needs, present only when `ADMIN_PUBLIC_URL` enables it. */
interface LoginSetup {
  settings: NonNullable<GatewayConfig['adminLogin']>;
  sso: NonNullable<GatewayConfig['adminOidc']>;
  client: OidcIssuerClient;
}

/**
 * The browser login of the admin console: authorization code with PKCE at `ADMIN_OIDC_ISSUER`
 * (`openid-client`), then an opaque session cookie (`HttpOnly`, `SameSite=Lax`, `Secure` and
 * `__Host-` when `ADMIN_PUBLIC_URL` is https) whose record lives in Redis under its SHA-256, so
 * every node knows it and a stolen Redis dump holds no usable cookie. Mutations authenticated by
 * the cookie need the session's CSRF token in `X-CSRF-Token` and, when the browser sends one, an
 * `Origin` equal to `ADMIN_PUBLIC_URL`'s.
 */
@Injectable()
export class AdminLoginService {
  private readonly logger = new Logger('AdminLogin');
  private readonly setup: LoginSetup | null;
  /** Console sessions exist when some sign-in can open one: SSO, or break-glass with `ADMIN_TOKEN`. */
  private readonly consoleOn: boolean;
  private readonly sessionTtlS: number;
  private readonly secureCookie: boolean;
  private readonly publicOrigin: string | null;
  private readonly sessionCookie: string;
  private readonly stateCookie: string;
  private readonly trusted: (address: string | undefined) => boolean;

  constructor(
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Inject(ADMIN_OIDC_CLIENT) client: OidcIssuerClient | null,
    private readonly sessions: AdminSessionRepository,
    private readonly audit: AuditTrail,
    private readonly access: AdminAccess,
  ) {
    this.setup = config.adminLogin && config.adminOidc && client ? { settings: config.adminLogin, sso: config.adminOidc, client } : null;
    this.consoleOn = this.setup !== null || config.adminPlane.adminToken !== undefined;
    this.sessionTtlS = config.adminPlane.sessionTtlS;
    this.secureCookie = config.adminPlane.secureCookie;
    this.publicOrigin = config.adminPlane.publicUrl ? new URL(config.adminPlane.publicUrl).origin : null;
    this.trusted = addressMatcher(config.auth.trustedProxies);
    // `__Host-` cookies are only accepted over https, for path `/`, without a Domain: they cannot be
    // planted by a sibling subdomain.
    const prefix = this.secureCookie ? '__Host-' : '';
    this.sessionCookie = `${prefix}agw_admin_session`;
    this.stateCookie = `${prefix}agw_admin_login`;
  }

  /** The caller's address: `X-Forwarded-For` is believed only from `TRUSTED_PROXIES`. */
  remoteAddr(request: Request): string {
    return resolveClientAddress(request.socket.remoteAddress, request.headers['x-forwarded-for'], (a) => this.trusted(a));
  }

  /** Starts a login: the IdP's authorization URL and the cookie that ties the browser to this state. */
  async begin(returnTo: string | undefined): Promise<{ location: string; cookie: string }> {
    const { settings, client } = this.enabled();
    const target = returnTo ?? DEFAULT_RETURN_TO;
    // Only a path of this site: never an open redirect to another host (`//evil`, `/\evil`).
    if (!/^\/(?![/\\])[\x21-\x7e]{0,511}$/.test(target) || target.includes('\\')) {
      throw new GatewayError('INVALID_MESSAGE', 'return_to: must be a path on this site, such as /admin/session');
    }
    const configuration = await client.metadata();
    const state = oidc.randomState();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    await this.sessions.savePending(digest(state), { codeVerifier, nonce, returnTo: target }, LOGIN_TTL_S);
    const location = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri(settings),
      scope: settings.scopes,
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    // Lax: the IdP's redirect back is a cross-site top-level GET, which Lax cookies accompany.
    return { location: location.href, cookie: this.cookie(this.stateCookie, state, LOGIN_TTL_S) };
  }

  /**
   * Completes a login at `/admin/callback`: the state must be the one this browser started (its
   * cookie) and unused; the code is exchanged with the PKCE verifier; roles come from the ID token,
   * or from the UserInfo endpoint when the ID token does not carry the role (or tenant) claim.
   * Every outcome is an `admin.login` record.
   */
  async complete(request: Request): Promise<{ cookie: string; clearState: string; returnTo: string }> {
    const setup = this.enabled();
    const { settings } = setup;
    const remoteAddr = this.remoteAddr(request);
    const clearState = this.cookie(this.stateCookie, '', 0);
    const query = new URLSearchParams(request.originalUrl.split('?')[1] ?? '');
    const state = query.get('state');
    const cookieState = parseCookies(request.headers.cookie).get(this.stateCookie);
    let subject = 'unknown';
    try {
      if (!state || !cookieState || !equalText(state, cookieState)) {
        throw unauthorized('login_failed', 'sign-in state missing or not started by this browser; start again at /admin/login');
      }
      const pending = await this.sessions.takePending(digest(state));
      if (!pending) throw unauthorized('login_failed', 'sign-in state expired or already used; start again at /admin/login');
      const claims = await this.exchange(setup, new URL(`${redirectUri(settings)}?${query.toString()}`), state, pending);
      subject = typeof claims.sub === 'string' ? claims.sub : subject;
      const grant = grantOf(claims, setup.sso);
      const { cookie, expiresAt } = await this.openSession({ kind: 'sso', ...grant });
      this.record('admin.login', grant.subject, grant.tenantId, remoteAddr, 'allowed', null, {
        roles: grant.roles,
        expires_at: expiresAt,
      });
      return { cookie, clearState, returnTo: pending.returnTo };
    } catch (error) {
      const failure = asGatewayError(error, this.logger);
      this.record('admin.login', subject, null, remoteAddr, 'denied', failure.code, { why: failure.message });
      throw failure;
    }
  }

  /** Whether the browser can sign in with SSO (`/admin/login`) here. */
  get ssoEnabled(): boolean {
    return this.setup !== null;
  }

  /**
   * Opens a console session: a random cookie value (256 bits), its record in Redis under the
   * value's SHA-256, the same for SSO and break-glass sign-ins.
   */
  async openSession(grant: {
    kind: 'sso' | 'break_glass';
    subject: string;
    roles: AdminSessionRecord['roles'];
    tenantId: string | null;
    credentialFingerprint?: string;
  }): Promise<{ cookie: string; expiresAt: string }> {
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    const record: AdminSessionRecord = {
      ...grant,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.sessionTtlS * 1000).toISOString(),
    };
    await this.sessions.create(digest(id), record, this.sessionTtlS);
    return { cookie: this.cookie(this.sessionCookie, id, this.sessionTtlS), expiresAt: record.expiresAt };
  }

  /** Ends a console session without the sign-out record (its credential no longer holds). */
  async end(admin: AdminPrincipal): Promise<void> {
    if (admin.console) await this.sessions.delete(admin.console.key);
  }

  /**
   * FORBIDDEN when a browser request comes from another origin than the console's (`ADMIN_PUBLIC_URL`,
   * or without it the request's own host): a sign-in form on another site cannot post here.
   */
  assertSameOrigin(request: Request, admin: AdminPrincipal | null): void {
    const why = this.originProblem(request);
    if (why && admin) throw this.access.deny(admin, why);
    if (why) throw new GatewayError('FORBIDDEN', why);
  }

  /**
   * The admin behind a session cookie, or null when the request carries none. An unknown or
   * expired session is UNAUTHORIZED; a mutation without the session's CSRF token, or from another
   * origin, FORBIDDEN.
   */
  async principal(request: Request, route: string, remoteAddr: string): Promise<AdminPrincipal | null> {
    if (!this.consoleOn) return null;
    const id = parseCookies(request.headers.cookie).get(this.sessionCookie);
    if (id === undefined) return null;
    const key = digest(id);
    const record = await this.sessions.find(key);
    if (!record) throw unauthorized('session_expired', 'admin session expired or signed out; sign in again at /admin/login');
    const session: ConsoleSession = {
      key,
      expiresAt: record.expiresAt,
      csrfToken: csrfToken(id),
      credentialFingerprint: record.credentialFingerprint,
    };
    const principal: AdminPrincipal = {
      kind: record.kind ?? 'sso',
      subject: record.subject,
      roles: record.roles,
      tenantId: record.tenantId,
      request: route,
      remoteAddr,
      console: session,
    };
    const why = SAFE_METHODS.has(request.method) ? null : this.csrfProblem(request, session.csrfToken);
    if (why) throw this.access.deny(principal, why);
    return principal;
  }

  /**
   * Ends the console session the request was authenticated by (a bearer caller has none), records
   * `admin.logout`, and names the IdP's end-session URL for a full sign-out.
   */
  async logout(admin: AdminPrincipal): Promise<{ signedOut: boolean; clear: string | null; endSessionUrl: string | null }> {
    if (!admin.console) return { signedOut: false, clear: null, endSessionUrl: null };
    const signedOut = await this.sessions.delete(admin.console.key);
    if (signedOut) this.record('admin.logout', admin.subject, admin.tenantId, admin.remoteAddr, 'allowed', null, {}, admin.kind);
    const clear = this.cookie(this.sessionCookie, '', 0);
    if (admin.kind === 'break_glass' || !this.setup) return { signedOut, clear, endSessionUrl: null };
    let endSessionUrl: string | null = null;
    try {
      const configuration = await this.setup.client.metadata();
      if (configuration.serverMetadata().end_session_endpoint) endSessionUrl = oidc.buildEndSessionUrl(configuration).href;
    } catch {
      // The IdP being down does not stop a sign-out here.
    }
    return { signedOut, clear, endSessionUrl };
  }

  private enabled(): LoginSetup {
    if (!this.setup) {
      throw new GatewayError(
        'NOT_FOUND',
        'browser login is not configured (set ADMIN_PUBLIC_URL, ADMIN_OIDC_ISSUER, ADMIN_OIDC_CLIENT_ID)',
      );
    }
    return this.setup;
  }

  /** Code → tokens (PKCE, state, nonce checked by openid-client) → claims, with UserInfo when needed. */
  private async exchange(
    { client, sso }: LoginSetup,
    callbackUrl: URL,
    state: string,
    pending: { codeVerifier: string; nonce: string },
  ): Promise<AccessTokenClaims> {
    const configuration = await client.metadata();
    const tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
      pkceCodeVerifier: pending.codeVerifier,
      expectedState: state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    const idClaims = tokens.claims();
    if (!idClaims) throw unauthorized('login_failed', 'the identity provider returned no ID token');
    const needed = [sso.roleClaim, ...(sso.tenantClaim ? [sso.tenantClaim] : [])];
    const missing = needed.some((path) => claimValues(idClaims, path).length === 0);
    if (missing && configuration.serverMetadata().userinfo_endpoint) {
      const userinfo = await oidc.fetchUserInfo(configuration, tokens.access_token, idClaims.sub);
      // The ID token's own claims win over UserInfo's.
      return { ...userinfo, ...idClaims };
    }
    return idClaims;
  }

  private cookie(name: string, value: string, maxAgeS: number): string {
    return serializeCookie(name, value, { maxAgeS, secure: this.secureCookie, sameSite: 'Lax' });
  }

  private originProblem(request: Request): string | null {
    const origin = request.headers.origin;
    if (origin === undefined) return null;
    const expected = this.publicOrigin ?? `${request.protocol}://${request.headers.host ?? ''}`;
    return origin === expected ? null : `cross-origin request from ${origin.slice(0, 100)} refused`;
  }

  private csrfProblem(request: Request, expected: string): string | null {
    const origin = this.originProblem(request);
    if (origin) return origin;
    const token = request.headers[CSRF_HEADER];
    if (typeof token !== 'string' || !equalText(token, expected)) {
      return 'cookie-authenticated changes need the session CSRF token in X-CSRF-Token (from GET /admin/session)';
    }
    return null;
  }

  private record(
    action: 'admin.login' | 'admin.logout',
    subject: string,
    tenantId: string | null,
    remoteAddr: string | null,
    outcome: 'allowed' | 'denied',
    reason: string | null,
    details: Record<string, unknown>,
    kind: AdminPrincipal['kind'] = 'sso',
  ): void {
    this.audit.record({
      action,
      tenant_id: tenantId,
      actor: { type: 'admin', id: subject },
      subject: kind === 'sso' ? 'oidc' : 'break-glass',
      outcome,
      reason,
      session_id: null,
      remote_addr: remoteAddr,
      details:
        kind === 'sso'
          ? { method: 'authorization_code', issuer: this.setup?.sso.issuer, ...details }
          : { method: 'break_glass', ...details },
    });
  }
}

function redirectUri(settings: LoginSetup['settings']): string {
  return `${settings.publicUrl}/admin/callback`;
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** The CSRF token of a session: derived from the secret cookie value, useless without it, never stored. */
function csrfToken(sessionId: string): string {
  return createHash('sha256').update(`csrf:${sessionId}`).digest('base64url');
}

function equalText(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}

/** An IdP refusal is UNAUTHORIZED; the IdP out of reach is UNAVAILABLE. Never the IdP's raw body. */
function asGatewayError(error: unknown, logger: Logger): GatewayError {
  if (error instanceof GatewayError) return error;
  const failure = error as Error & { error?: string; code?: string };
  logger.warn(`admin sign-in failed: ${failure.name}: ${failure.message}`);
  if (failure instanceof oidc.AuthorizationResponseError || failure instanceof oidc.ResponseBodyError) {
    return unauthorized('login_failed', `sign-in refused by the identity provider (${String(failure.error).slice(0, 64)})`);
  }
  const network = (e: unknown) => e instanceof TypeError || ['TimeoutError', 'AbortError'].includes((e as Error | undefined)?.name ?? '');
  if (network(failure) || network(failure.cause)) return new GatewayError('UNAVAILABLE', 'identity provider unavailable; retry later');
  // openid-client's own checks (PKCE, state, nonce, iss, ID token claims) and oauth4webapi's.
  if (failure instanceof oidc.ClientError || failure.name === 'OperationProcessingError') {
    return unauthorized('login_failed', 'sign-in failed: the identity provider response did not validate');
  }
  // Anything else (the session store down…) is the gateway's problem, not the user's.
  return new GatewayError('UNAVAILABLE', 'sign-in could not be completed; retry later', { cause: failure });
}
