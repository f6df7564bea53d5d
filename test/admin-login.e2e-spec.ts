import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from './support/admin.js';
import { waitFor } from './support/agents.js';
import { TestBrowser, type BrowserResponse } from './support/browser.js';
import { TEST_ADMIN_TOKEN, TEST_DATABASE_URL, uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { startTestIssuer, type TestIssuer } from './support/oidc-issuer.js';
import { freePort } from './support/ports.js';

// The admin console's browser login against a real OpenID provider: authorization code with PKCE,
// the provider's own login and consent pages filled in by an HTTP client that follows every
// redirect, then the session cookie on two gateway nodes sharing Redis, CSRF, roles and sign-out.
describe('admin browser login (authorization code + PKCE, session cookie, CSRF)', () => {
  const db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  let issuer: TestIssuer;
  let nodeA: GatewayProcess;
  let nodeB: GatewayProcess;
  let publicUrl: string;
  let tenant: string;
  let otherTenant: string;

  // Records of this suite's two nodes only: other suites sign in users of the same names (the
  // console's `alice`) into the same database.
  const records = async (action: string, actor: string) =>
    (
      await db.query<{ outcome: string; reason: string | null; tenant_id: string | null; details: Record<string, unknown> }>(
        'SELECT outcome, reason, tenant_id, details FROM audit_records WHERE action = $1 AND actor_id = $2 AND node_id = ANY($3) ORDER BY seq',
        [action, actor, [nodeA.nodeId, nodeB.nodeId]],
      )
    ).rows;

  /** Signs `login` in through the IdP's pages and returns the browser and the gateway's last answer. */
  const signIn = async (login: string, returnTo?: string): Promise<{ browser: TestBrowser; landed: BrowserResponse }> => {
    const browser = new TestBrowser();
    const start = `${publicUrl}/admin/login${returnTo ? `?return_to=${encodeURIComponent(returnTo)}` : ''}`;
    const landed = await browser.navigate(start, { login, password: 'any-password' });
    return { browser, landed };
  };

  /** A request of the signed-in console: the cookie, and the CSRF token when given. */
  const consoleCall = async (
    browser: TestBrowser,
    gateway: GatewayProcess,
    method: string,
    path: string,
    init: { body?: unknown; csrf?: string; origin?: string } = {},
  ) => {
    const response = await fetch(`${gateway.adminUrl}${path}`, {
      method,
      headers: {
        cookie: browser.cookieHeader(publicUrl),
        ...(init.body !== undefined && { 'content-type': 'application/json' }),
        ...(init.csrf !== undefined && { 'x-csrf-token': init.csrf }),
        ...(init.origin !== undefined && { origin: init.origin }),
      },
      ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown>, headers: response.headers };
  };

  beforeAll(async () => {
    issuer = await startTestIssuer();
    const adminPort = await freePort();
    publicUrl = `http://127.0.0.1:${adminPort}`;
    issuer.addWebClient('gateway-console', 'console-secret', `${publicUrl}/admin/callback`);
    tenant = uniqueId('login-t');
    otherTenant = uniqueId('login-u');
    issuer.addUser('alice', { name: 'Alice', groups: ['gw-admins'] });
    issuer.addUser('olga', { groups: ['gw-ops'] });
    issuer.addUser('tom', { groups: ['gw-admins'], tenant });
    issuer.addUser('nora', { groups: ['staff'] });
    const env = {
      REDIS_KEY_PREFIX: uniquePrefix(),
      ADMIN_OIDC_ISSUER: issuer.issuer,
      ADMIN_OIDC_AUDIENCE: issuer.jwtAudience,
      ADMIN_OIDC_CLIENT_ID: 'gateway-console',
      ADMIN_OIDC_CLIENT_SECRET: 'console-secret',
      ADMIN_PUBLIC_URL: publicUrl,
      OIDC_ALLOW_HTTP: 'true',
      ADMIN_ROLE_CLAIM: 'groups',
      ADMIN_ROLE_MAP: JSON.stringify({ 'gw-admins': 'admin', 'gw-ops': 'operator' }),
      ADMIN_TENANT_CLAIM: 'tenant',
    };
    // Node A serves the public URL; node B shares Redis (a load balancer may send the browser to either).
    [nodeA, nodeB] = await Promise.all([startGateway({ ...env, ADMIN_PORT: String(adminPort) }), startGateway(env)]);
    const breakGlass = adminClient(nodeA);
    await breakGlass.tenant(tenant);
    await breakGlass.tenant(otherTenant);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([nodeA?.stop(), nodeB?.stop()]);
    await issuer?.stop();
    await db.end();
  });

  it("signs an admin in through the provider's login page and sets an HttpOnly, SameSite session cookie", async () => {
    const { browser, landed } = await signIn('alice');
    // The way there: the gateway sent the browser to the IdP with PKCE, the IdP showed its pages.
    const authorize = new URL(browser.history[0]?.headers.get('location') ?? '');
    expect(authorize.origin).toBe(issuer.issuer);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${publicUrl}/admin/callback`);
    expect(browser.history.some((r) => r.body.includes('name="password"'))).toBe(true);
    const callback = browser.history.find((r) => r.url.startsWith(`${publicUrl}/admin/callback`));
    expect(callback?.status).toBe(302);
    const sessionCookie = callback?.setCookies.find((c) => c.startsWith('agw_admin_session=')) ?? '';
    expect(sessionCookie).toMatch(/; HttpOnly/);
    expect(sessionCookie).toMatch(/; SameSite=Lax/);
    expect(sessionCookie).toMatch(/; Path=\//);
    expect(sessionCookie).not.toMatch(/Secure/); // plain-HTTP public URL: Secure only behind TLS
    // Landed on the default page: who am I, with the CSRF token.
    expect(landed.url).toBe(`${publicUrl}/admin/session`);
    expect(landed.status).toBe(200);
    const me = JSON.parse(landed.body) as Record<string, unknown>;
    expect(me).toMatchObject({ subject: 'alice', roles: ['admin'], tenant_id: null, kind: 'sso' });
    expect(me.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await waitFor(async () => (await records('admin.login', 'alice')).length === 1, 30_000, 'the admin.login record');
    expect((await records('admin.login', 'alice'))[0]).toMatchObject({ outcome: 'allowed', details: { roles: ['admin'] } });
  });

  it('accepts the cookie on every node; changes need the CSRF token and the own origin', async () => {
    const { browser, landed } = await signIn('alice', '/admin/v1/tenants');
    expect(landed.url).toBe(`${publicUrl}/admin/v1/tenants`);
    expect(landed.status).toBe(200);
    const csrf = String((await consoleCall(browser, nodeB, 'GET', '/admin/session')).body.csrf_token);
    expect((await consoleCall(browser, nodeB, 'GET', '/admin/v1/tenants')).status).toBe(200);

    const deniedBefore = (await records('admin.denied', 'alice')).length;
    const create = () => ({ tenant_id: uniqueId('console'), name: 'from the console' });
    expect(await consoleCall(browser, nodeA, 'POST', '/admin/v1/tenants', { body: create() })).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN' } },
    });
    expect((await consoleCall(browser, nodeA, 'POST', '/admin/v1/tenants', { body: create(), csrf: 'A'.repeat(43) })).status).toBe(403);
    expect(
      (await consoleCall(browser, nodeA, 'POST', '/admin/v1/tenants', { body: create(), csrf, origin: 'https://evil.example' })).status,
    ).toBe(403);
    const created = create();
    expect((await consoleCall(browser, nodeB, 'POST', '/admin/v1/tenants', { body: created, csrf, origin: publicUrl })).status).toBe(201);
    await waitFor(async () => (await records('admin.denied', 'alice')).length === deniedBefore + 3, 30_000, 'three CSRF denials');
    await waitFor(async () => (await records('tenant.created', 'alice')).length >= 1, 30_000, 'tenant.created by alice');
  });

  it("applies the session's roles and tenant binding like a bearer token's", async () => {
    const olga = await signIn('olga');
    expect(JSON.parse(olga.landed.body)).toMatchObject({ subject: 'olga', roles: ['operator'] });
    expect(await consoleCall(olga.browser, nodeA, 'GET', '/admin/v1/audit')).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN' } },
    });
    expect((await consoleCall(olga.browser, nodeA, 'GET', '/admin/v1/agents')).status).toBe(200);

    const tom = await signIn('tom');
    expect(JSON.parse(tom.landed.body)).toMatchObject({ subject: 'tom', roles: ['admin'], tenant_id: tenant });
    expect((await consoleCall(tom.browser, nodeA, 'GET', `/admin/v1/tenants/${tenant}/policy`)).status).toBe(200);
    expect((await consoleCall(tom.browser, nodeA, 'GET', `/admin/v1/tenants/${otherTenant}/policy`)).status).toBe(403);
  });

  it('refuses a user without a role at the callback (403, audited) and an unknown user', async () => {
    const { landed } = await signIn('nora');
    expect(landed.url).toMatch(/\/admin\/callback\?/);
    expect({ status: landed.status, code: (JSON.parse(landed.body) as { error: { code: string } }).error.code }).toEqual({
      status: 403,
      code: 'FORBIDDEN',
    });
    await waitFor(async () => (await records('admin.login', 'nora')).some((r) => r.outcome === 'denied'), 10_000, "nora's refused login");

    const stranger = await signIn('mallory');
    expect(stranger.landed.url.startsWith(publicUrl)).toBe(false); // the IdP stops it: no account
    expect(stranger.browser.cookies(publicUrl).has('agw_admin_session')).toBe(false);
  });

  it('refuses a replayed callback, a callback from another browser, and an open redirect', async () => {
    // Stop just before the gateway's callback, then deliver it twice and from a second browser.
    const browser = new TestBrowser();
    const atCallback = await browser.navigate(`${publicUrl}/admin/login`, { login: 'alice', password: 'x' }, (url) =>
      url.startsWith(`${publicUrl}/admin/callback`),
    );
    const callbackUrl = atCallback.url;
    const thief = new TestBrowser();
    const stolen = await thief.request('GET', callbackUrl);
    expect(stolen.status).toBe(401); // no state cookie: not the browser that started the login
    expect((await browser.request('GET', callbackUrl)).status).toBe(302);
    expect((await browser.request('GET', callbackUrl)).status).toBe(401); // state used once

    // A forged code with a genuine state: the IdP refuses the exchange, the gateway says so (401).
    const forger = new TestBrowser();
    const forgedAt = await forger.navigate(`${publicUrl}/admin/login`, { login: 'alice', password: 'x' }, (url) =>
      url.startsWith(`${publicUrl}/admin/callback`),
    );
    const forged = new URL(forgedAt.url);
    forged.searchParams.set('code', 'forged-code');
    const refused = await forger.request('GET', forged.href);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'UNAUTHORIZED', message: expect.stringContaining('invalid_grant') } });

    for (const target of ['//evil.example/x', 'https://evil.example', '/\\evil.example']) {
      const response = await fetch(`${publicUrl}/admin/login?return_to=${encodeURIComponent(target)}`, { redirect: 'manual' });
      expect(response.status, target).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('INVALID_MESSAGE');
    }
  });

  it('signs out: the session ends on every node, the cookie is cleared, admin.logout recorded', async () => {
    const { browser, landed } = await signIn('olga');
    const csrf = String((JSON.parse(landed.body) as { csrf_token: string }).csrf_token);
    const cookie = browser.cookieHeader(publicUrl);
    expect((await consoleCall(browser, nodeA, 'POST', '/admin/logout')).status).toBe(403); // no CSRF token
    const out = await consoleCall(browser, nodeA, 'POST', '/admin/logout', { csrf });
    expect(out.status).toBe(200);
    expect(out.body).toMatchObject({ signed_out: true });
    expect(String(out.body.end_session_url)).toContain(issuer.issuer);
    expect(out.headers.get('set-cookie')).toMatch(/^agw_admin_session=; Path=\/; Max-Age=0/);
    const after = await fetch(`${nodeB.adminUrl}/admin/session`, { headers: { cookie } });
    expect(after.status).toBe(401);
    // A bearer caller has no console session to end, even with a stray cookie beside its token.
    const { browser: other } = await signIn('alice');
    const bearer = await fetch(`${nodeA.adminUrl}/admin/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, cookie: other.cookieHeader(publicUrl) },
    });
    expect(await bearer.json()).toEqual({ signed_out: false, end_session_url: null });
    expect((await consoleCall(other, nodeA, 'GET', '/admin/session')).body).toMatchObject({ subject: 'alice' });
    await waitFor(async () => (await records('admin.logout', 'olga')).length === 1, 30_000, 'the admin.logout record');
  });

  it('uses a __Host- Secure cookie when the public URL is https', async () => {
    const secure = await startGateway({
      REDIS_KEY_PREFIX: uniquePrefix(),
      ADMIN_OIDC_ISSUER: issuer.issuer,
      ADMIN_OIDC_AUDIENCE: issuer.jwtAudience,
      ADMIN_OIDC_CLIENT_ID: 'gateway-console',
      ADMIN_OIDC_CLIENT_SECRET: 'console-secret',
      ADMIN_PUBLIC_URL: 'https://gateway.example.com',
      OIDC_ALLOW_HTTP: 'true',
    });
    try {
      const response = await fetch(`${secure.adminUrl}/admin/login`, { redirect: 'manual' });
      expect(response.status).toBe(302);
      expect(new URL(response.headers.get('location') ?? '').searchParams.get('redirect_uri')).toBe(
        'https://gateway.example.com/admin/callback',
      );
      const cookie = response.headers.getSetCookie()[0] ?? '';
      expect(cookie).toMatch(/^__Host-agw_admin_login=[^;]+; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/);
    } finally {
      await secure.stop();
    }
  });
});
