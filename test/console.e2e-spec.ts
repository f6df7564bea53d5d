import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, waitFor, type TestAgent } from './support/agents.js';
import { TEST_ADMIN_TOKEN, TEST_DATABASE_URL, uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { startTestIssuer, type TestIssuer } from './support/oidc-issuer.js';
import { freePort } from './support/ports.js';

/** Debian's Chromium (`apt-get install chromium`, see .ci/run), driven by playwright-core: never a downloaded browser. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOTS = fileURLToPath(new URL('../docs/console/', import.meta.url));
const BROWSER_TEST_MS = 60_000;

/**
 * What a page reported that a console must never cause: a script error, a CSP violation (seen by a
 * `securitypolicyviolation` listener installed before the app's own scripts), or a console error
 * other than the failed requests a test provokes on purpose (statuses listed per page).
 */
interface Problems {
  list: string[];
  expectedStatuses: Set<number>;
}

// The web console (contract §11) in a real Chromium against the production bootstrap, with the
// suite's real OpenID provider for SSO: sign-in both ways, every page with its data, the changes
// an admin makes there reaching the gateway (a token that connects, a kick that disconnects, a
// policy that the server validates), roles, and a clean browser console under the strict CSP.
describe('web console (contract §11) in Chromium', () => {
  const db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  let issuer: TestIssuer;
  let gateway: GatewayProcess;
  let admin: AdminClient;
  let browser: Browser;
  let publicUrl: string;
  let tenant: string;
  let otherTenant: string;
  let gatewayEnv: Record<string, string>;
  const contexts: BrowserContext[] = [];
  const problems = new Map<Page, Problems>();
  const agents: TestAgent[] = [];

  const records = async (action: string, actor: string) =>
    (
      await db.query<{ outcome: string; subject: string | null; details: Record<string, unknown> }>(
        'SELECT outcome, subject, details FROM audit_records WHERE action = $1 AND actor_id = $2 ORDER BY seq',
        [action, actor],
      )
    ).rows;

  /** A fresh browser profile (no cookies) with a page whose problems are collected. */
  const newPage = async (expectedStatuses: number[] = []): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    const seen: Problems = { list: [], expectedStatuses: new Set(expectedStatuses) };
    problems.set(page, seen);
    await page.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));`,
    });
    page.on('pageerror', (error) => seen.list.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      // Chromium's own CSP reports come without a location: they belong to the page showing.
      if (message.type() !== 'error' || !(message.location().url || page.url()).startsWith(publicUrl)) return;
      const status = /status of (\d{3})/.exec(message.text())?.[1];
      if (status && seen.expectedStatuses.has(Number(status))) return;
      seen.list.push(`console error: ${message.text()} (${message.location().url})`);
    });
    return page;
  };

  const signInWithToken = async (page: Page, token = TEST_ADMIN_TOKEN): Promise<void> => {
    await page.goto(`${publicUrl}/console/`);
    await page.getByLabel('Admin token').fill(token);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  };

  const signInWithSso = async (page: Page, login: string): Promise<void> => {
    await page.goto(`${publicUrl}/console/`);
    await page.getByRole('button', { name: 'Sign in with SSO' }).click();
    // oidc-provider's own login and consent pages.
    await page.getByPlaceholder('Enter any login').fill(login);
    await page.getByPlaceholder('and password').fill('any-password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${publicUrl}/console/**`);
  };

  const nav = (page: Page) => page.getByRole('navigation', { name: 'Main' });
  const open = async (page: Page, link: string): Promise<void> => {
    await nav(page).getByRole('link', { name: link, exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(link);
  };
  const screenshot = (page: Page, name: string) => page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });

  const agentWithToken = async (tenantId: string): Promise<{ agentId: string; token: string }> => {
    const agentId = await admin.agent(tenantId, { capabilities: ['search'] });
    return { agentId, token: (await admin.token(agentId)).token };
  };
  const connect = async (agentId: string, token: string): Promise<TestAgent> => {
    const agent = await connectAgent(gateway.url, { agentId, token });
    agents.push(agent);
    return agent;
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    issuer = await startTestIssuer();
    const adminPort = await freePort();
    publicUrl = `http://127.0.0.1:${adminPort}`;
    tenant = uniqueId('console-t');
    otherTenant = uniqueId('console-u');
    issuer.addWebClient('gateway-console', 'console-secret', `${publicUrl}/admin/callback`);
    issuer.addUser('alice', { groups: ['gw-admins'] });
    issuer.addUser('audrey', { groups: ['gw-audit'] });
    issuer.addUser('tom', { groups: ['gw-admins'], tenant });
    gatewayEnv = {
      REDIS_KEY_PREFIX: uniquePrefix(),
      ADMIN_PORT: String(adminPort),
      ADMIN_PUBLIC_URL: publicUrl,
      ADMIN_OIDC_ISSUER: issuer.issuer,
      ADMIN_OIDC_AUDIENCE: issuer.jwtAudience,
      ADMIN_OIDC_CLIENT_ID: 'gateway-console',
      ADMIN_OIDC_CLIENT_SECRET: 'console-secret',
      OIDC_ALLOW_HTTP: 'true',
      // Remote A2A agents can be registered (their URL on this machine, their credential sealed).
      A2A_EGRESS_ALLOW: '127.0.0.1/32',
      SECRETS_KEY: 'console-test-secrets-key-0123456789abcdef',
      ADMIN_ROLE_CLAIM: 'groups',
      ADMIN_ROLE_MAP: JSON.stringify({ 'gw-admins': 'admin', 'gw-audit': 'auditor' }),
      ADMIN_TENANT_CLAIM: 'tenant',
    };
    gateway = await startGateway(gatewayEnv);
    admin = adminClient(gateway);
    await admin.tenant(tenant);
    await admin.tenant(otherTenant);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  }, 60_000);

  afterEach(async () => {
    if (gateway.child.exitCode !== null || gateway.child.signalCode !== null) {
      throw new Error(
        `the gateway exited (${gateway.child.exitCode ?? gateway.child.signalCode}):\n${gateway.output.slice(-30).join('\n')}`,
      );
    }
    const found = [...problems.values()].flatMap((p) => p.list);
    problems.clear();
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    for (const agent of agents.splice(0)) agent.socket.close();
    expect(found, 'no script error, CSP violation or unexpected console error').toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await issuer?.stop();
    await db.end();
  });

  it('serves the console under a strict CSP: hashed assets cached for good, the index revalidated, app routes answered with the index', async () => {
    const index = await fetch(`${publicUrl}/console`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await index.text();
    // Nothing inline: every script and style is a file of the build.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style="/);
    const script = /<script[^>]*src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${publicUrl}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-security-policy')).toBe(csp);

    const deep = await fetch(`${publicUrl}/console/agents`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);
    expect((await fetch(`${publicUrl}/console/assets/absent-0000.js`)).status).toBe(404);
    expect((await fetch(`${publicUrl}/console/absent.png`)).status).toBe(404);
  });

  it('enforces the CSP in the browser: an injected inline script does not run and is reported', async () => {
    const page = await newPage([401]);
    await page.goto(`${publicUrl}/console/`);
    await page.getByLabel('Admin token').waitFor();
    const ran = await page.evaluate(`(() => {
      const script = document.createElement('script');
      script.textContent = 'window.injected = true';
      document.head.append(script);
      return new Promise((resolve) => setTimeout(() => resolve(window.injected === true), 200));
    })()`);
    expect(ran).toBe(false);
    const seen = problems.get(page);
    await expect.poll(() => seen?.list.some((p) => p.includes('CSP violation: script-src-elem'))).toBe(true);
    // Seen, as it must be; not a fault of the console.
    seen?.list.splice(0);
  });

  it('keeps the break-glass cookie to its origin and its CSRF token, and refuses a login posted from another site', async () => {
    const login = (origin?: string) =>
      fetch(`${publicUrl}/admin/login/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(origin && { origin }) },
        body: JSON.stringify({ token: TEST_ADMIN_TOKEN }),
      });
    const foreign = await login('https://evil.example');
    expect(foreign.status).toBe(403);
    expect(foreign.headers.getSetCookie()).toEqual([]);
    const signedIn = await login(publicUrl);
    expect(signedIn.status).toBe(200);
    const cookie = signedIn.headers.getSetCookie()[0]?.split(';')[0] ?? '';
    expect(cookie).toMatch(/^agw_admin_session=[A-Za-z0-9_-]{43}$/);
    const me = (await (await fetch(`${publicUrl}/admin/session`, { headers: { cookie } })).json()) as Record<string, unknown>;
    expect(me).toMatchObject({ subject: 'break-glass', roles: ['admin'], kind: 'break_glass' });
    const create = (headers: Record<string, string>) =>
      fetch(`${publicUrl}/admin/v1/tenants`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ tenant_id: uniqueId('csrf'), name: 'x' }),
      });
    expect((await create({})).status).toBe(403);
    expect((await create({ 'x-csrf-token': String(me.csrf_token), origin: 'https://evil.example' })).status).toBe(403);
    expect((await create({ 'x-csrf-token': String(me.csrf_token), origin: publicUrl })).status).toBe(201);
  });

  it(
    'ends break-glass sessions when ADMIN_TOKEN changes, and throttles wrong tokens like every admin sign-in',
    async () => {
      const [rotated, throttled] = await Promise.all([
        // The same Redis (the sessions) with another ADMIN_TOKEN: a restart after a rotation.
        startGateway({ ...gatewayEnv, ADMIN_PORT: '0', ADMIN_TOKEN: 'rotated-admin-token-0123456789abcdef0123' }),
        startGateway({ REDIS_KEY_PREFIX: uniquePrefix(), AUTH_FAILURE_LIMIT: '2' }),
      ]);
      try {
        const signedIn = await fetch(`${publicUrl}/admin/login/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: TEST_ADMIN_TOKEN }),
        });
        const cookie = signedIn.headers.getSetCookie()[0]?.split(';')[0] ?? '';
        expect((await fetch(`${publicUrl}/admin/session`, { headers: { cookie } })).status).toBe(200);
        const after = await fetch(`${rotated.adminUrl}/admin/session`, { headers: { cookie } });
        expect(after.status).toBe(401);
        expect(((await after.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
        // The session was removed, not only refused: the first node no longer knows it either.
        expect((await fetch(`${publicUrl}/admin/session`, { headers: { cookie } })).status).toBe(401);

        const attempt = (token: string) =>
          fetch(`${throttled.adminUrl}/admin/login/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ token }),
          });
        expect((await attempt('wrong-1')).status).toBe(401);
        expect((await attempt('wrong-2')).status).toBe(401);
        const refused = await attempt(TEST_ADMIN_TOKEN);
        expect(refused.status).toBe(429);
        expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMIT');
        expect(refused.headers.getSetCookie()).toEqual([]);
      } finally {
        await Promise.all([rotated.stop(), throttled.stop()]);
      }
    },
    BROWSER_TEST_MS,
  );

  it('refuses a wrong admin token: the error is shown, no cookie is set, and the attempt is audited', async () => {
    const page = await newPage([401]);
    await signInWithToken(page, 'wrong-token-0123456789abcdef0123456789ab');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('UNAUTHORIZED');
    expect(await page.context().cookies()).toEqual([]);
    await expect(nav(page).count()).resolves.toBe(0);
    await screenshot(page, 'sign-in');
    await waitFor(
      async () => (await records('admin.login', 'break-glass')).some((r) => r.outcome === 'denied'),
      10_000,
      'the denied record',
    );
  });

  it(
    'signs in with ADMIN_TOKEN into an HttpOnly session cookie (admin.login, actor break-glass), by keyboard alone, and signs out',
    async () => {
      const page = await newPage([401]);
      // By keyboard alone: type the token, Enter; then Tab to the second link, Enter.
      await page.goto(`${publicUrl}/console/`);
      await page.getByLabel('Admin token').focus();
      await page.keyboard.type(TEST_ADMIN_TOKEN);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.getByText('break-glass · admin').count()).toBe(1);
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      await expect(page.evaluate('document.activeElement.textContent')).resolves.toBe('Agents');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Agents');
      expect(new URL(page.url()).pathname).toBe('/console/agents');
      const cookies = await page.context().cookies();
      expect(cookies).toHaveLength(1);
      expect(cookies[0]).toMatchObject({ name: 'agw_admin_session', httpOnly: true, sameSite: 'Lax', path: '/' });
      // The cookie is not the token: nothing of ADMIN_TOKEN reaches the browser's storage.
      expect(cookies[0]?.value).not.toContain(TEST_ADMIN_TOKEN);
      for (const link of ['Overview', 'Agents', 'Sessions', 'Tenants', 'Policies', 'Rate limits', 'Audit']) {
        await expect(nav(page).getByRole('link', { name: link, exact: true }).count()).resolves.toBe(1);
      }
      await waitFor(
        async () =>
          (await records('admin.login', 'break-glass')).some((r) => r.outcome === 'allowed' && r.details.method === 'break_glass'),
        10_000,
        'the admin.login record',
      );

      await page.getByRole('button', { name: 'Sign out' }).click();
      await expect.poll(() => page.getByLabel('Admin token').count()).toBe(1);
      expect(await page.context().cookies()).toEqual([]);
      await page.reload();
      await expect.poll(() => page.getByLabel('Admin token').count()).toBe(1);
    },
    BROWSER_TEST_MS,
  );

  it('returns to the sign-in page when the session ends elsewhere', async () => {
    const page = await newPage([401]);
    await signInWithToken(page);
    await expect.poll(() => page.getByText('break-glass · admin').count()).toBe(1);
    // The same session signed out by another client: the console's next call is refused.
    const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const me = (await (await fetch(`${publicUrl}/admin/session`, { headers: { cookie } })).json()) as { csrf_token: string };
    const out = await fetch(`${publicUrl}/admin/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': me.csrf_token } });
    expect(out.status).toBe(200);
    await nav(page).getByRole('link', { name: 'Tenants', exact: true }).click();
    await expect.poll(() => page.getByLabel('Admin token').count()).toBe(1);
    await expect(nav(page).count()).resolves.toBe(0);
  });

  it(
    "signs in with SSO through the provider's own login page",
    async () => {
      const page = await newPage([401]);
      await signInWithSso(page, 'alice');
      await expect.poll(() => page.getByText('alice · admin').count()).toBe(1);
      await expect(nav(page).getByRole('link').count()).resolves.toBe(7);
      expect((await page.context().cookies(publicUrl)).map((c) => c.name)).toContain('agw_admin_session');
    },
    BROWSER_TEST_MS,
  );

  it('renders every page with its data (screenshots in docs/console/)', async () => {
    const sender = await agentWithToken(tenant);
    const receiver = await agentWithToken(tenant);
    const [from, to] = [await connect(sender.agentId, sender.token), await connect(receiver.agentId, receiver.token)];
    await admin.call('PUT', `/admin/v1/tenants/${tenant}/policy`, {
      rules: [{ effect: 'allow', actions: ['send'], from: { agent_id: sender.agentId }, to: { capability: 'search' } }],
    });
    const page = await newPage([401]);
    await signInWithToken(page);

    // Overview: the live chart fills as messages flow (every 2 s a new point).
    let sent = 0;
    const traffic = setInterval(() => {
      for (let i = 0; i < 5; i++)
        void from
          .call('send', { to_agent_id: to.session.agent.agent_id, content: [{ type: 'text', text: `m${sent++}` }] })
          .catch(() => undefined);
    }, 100);
    try {
      await open(page, 'Overview');
      await expect.poll(() => page.locator('.stat', { hasText: 'Sessions' }).locator('.stat-value').textContent()).not.toBe('0');
      await expect.poll(() => page.getByRole('cell', { name: gateway.nodeId }).count(), { timeout: 10_000 }).toBe(1);
      await expect.poll(() => page.locator('.chart polyline').count(), { timeout: 10_000 }).toBe(1);
      await expect
        .poll(async () => Number(await page.locator('.stat', { hasText: 'Messages/s' }).locator('.stat-value').textContent()), {
          timeout: 10_000,
        })
        .toBeGreaterThan(0);
      await expect(page.locator('.stat', { hasText: 'Postgres' }).locator('.stat-value').textContent()).resolves.toBe('ok');
      await page.waitForTimeout(4000); // a few more points on the chart for the screenshot
      await screenshot(page, 'overview');
    } finally {
      clearInterval(traffic);
    }

    await open(page, 'Agents');
    await page.getByLabel('Filter by tenant').selectOption(tenant);
    await expect.poll(() => page.getByRole('row', { name: new RegExp(`^${sender.agentId} `) }).count()).toBe(1);
    await page.getByRole('button', { name: `Manage ${sender.agentId}` }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'API tokens' }).count()).toBe(1);
    await expect.poll(() => page.getByRole('button', { name: /^Revoke token/ }).count()).toBe(1);
    await screenshot(page, 'agents');

    await open(page, 'Sessions');
    await expect.poll(() => page.getByRole('row', { name: new RegExp(receiver.agentId) }).count()).toBe(1);
    await screenshot(page, 'sessions');

    await open(page, 'Tenants');
    await expect.poll(() => page.getByRole('row', { name: new RegExp(`^${otherTenant} `) }).count()).toBe(1);
    await screenshot(page, 'tenants');

    await open(page, 'Policies');
    await page.getByLabel('Tenant', { exact: true }).selectOption(tenant);
    await expect.poll(() => page.getByLabel('Policy document').inputValue()).toContain(sender.agentId);
    await screenshot(page, 'policies');

    // A limit for an agent that never sends: the document has content, the suite's traffic is untouched.
    const limited = uniqueId('limited');
    await admin.call('PUT', '/admin/v1/rate-limits', { agents: { [limited]: { messages_per_second: 5, burst: 10 } } });
    await open(page, 'Rate limits');
    await expect.poll(() => page.getByLabel('Rate-limit document').inputValue()).toContain(limited);
    await expect.poll(() => page.getByRole('cell', { name: 'connects_per_minute_per_ip' }).count()).toBe(1);
    await screenshot(page, 'rate-limits');

    await open(page, 'Audit');
    await expect.poll(() => page.getByRole('cell', { name: 'message.routed' }).count()).toBeGreaterThan(0);
    await page
      .getByRole('button', { name: /^Details of message.routed/ })
      .first()
      .click();
    await expect.poll(() => page.locator('pre.details').textContent()).toContain('content_sha256');
    await screenshot(page, 'audit');
  }, 90_000);

  it(
    'registers a remote A2A agent in the UI: its URL and that a credential is stored are shown, never the credential',
    async () => {
      const page = await newPage([401]);
      await signInWithToken(page);
      await open(page, 'Agents');
      const agentId = uniqueId('ui-remote');
      const secret = `remote-bearer-${uniqueId('s')}`;
      const register = page.getByRole('region', { name: 'Register an agent' });
      await register.getByLabel('Agent ID').fill(agentId);
      await register.getByLabel('Tenant').selectOption(tenant);
      await register.getByLabel('Remote A2A URL').fill('http://127.0.0.1:9/a2a');
      await register.getByLabel('A2A bearer token').fill(secret);
      await register.getByRole('button', { name: 'Register' }).click();
      await expect.poll(() => page.getByRole('heading', { name: `Agent ${agentId}` }).count()).toBe(1);
      await expect.poll(() => page.getByText('Remote A2A agent at').textContent()).toContain('http://127.0.0.1:9/a2a');
      await expect(page.getByText('Remote A2A agent at').textContent()).resolves.toContain('bearer, stored');
      expect((await admin.call('GET', `/admin/v1/agents/${agentId}`)).body).toMatchObject({
        a2a_url: 'http://127.0.0.1:9/a2a',
        a2a_credential: { type: 'bearer', configured: true },
      });
      await expect(register.getByLabel('A2A bearer token').inputValue()).resolves.toBe('');
      expect(await page.content()).not.toContain(secret);
    },
    BROWSER_TEST_MS,
  );

  it(
    'registers an agent and creates its token in the UI: shown once, and it connects',
    async () => {
      const page = await newPage([401]);
      await signInWithToken(page);
      await open(page, 'Agents');
      const agentId = uniqueId('ui-agent');
      const register = page.getByRole('region', { name: 'Register an agent' });
      await register.getByLabel('Agent ID').fill(agentId);
      await register.getByLabel('Tenant').selectOption(tenant);
      await register.getByLabel('Agent name').fill('Registered in the console');
      await register.getByLabel('Capabilities').fill('plan, search');
      await register.getByRole('button', { name: 'Register' }).click();
      await expect.poll(() => page.getByRole('heading', { name: `Agent ${agentId}` }).count()).toBe(1);
      expect((await admin.call('GET', `/admin/v1/agents/${agentId}`)).body).toMatchObject({
        tenant_id: tenant,
        agent_name: 'Registered in the console',
        capabilities: ['plan', 'search'],
      });

      await page.getByLabel('Token name').fill('console-token');
      await page.getByRole('button', { name: 'Create token' }).click();
      const shown = page.getByRole('textbox', { name: 'New token' });
      await expect.poll(() => shown.inputValue()).toMatch(/^agt_/);
      const token = await shown.inputValue();
      await page.getByRole('button', { name: 'Copy', exact: true }).click();
      await expect
        .poll(() =>
          page
            .getByRole('status')
            .filter({ hasText: /clipboard/ })
            .count(),
        )
        .toBe(1);
      await screenshot(page, 'agents-token');
      // The token is real: the agent connects with it.
      const agent = await connect(agentId, token);
      expect(agent.session.agent.agent_id).toBe(agentId);
      // Shown once: gone from the page once dismissed, and never served again.
      await page.getByRole('button', { name: 'Done' }).click();
      await expect.poll(() => shown.count()).toBe(0);
      expect(await page.content()).not.toContain(token);
      const list = await admin.call('GET', `/admin/v1/agents/${agentId}/tokens`);
      expect(JSON.stringify(list.body)).not.toContain(token);
      await expect.poll(() => page.getByRole('cell', { name: 'console-token', exact: true }).count()).toBe(1);
    },
    BROWSER_TEST_MS,
  );

  it(
    'kicks a live socket.io session from Sessions: the agent is disconnected (revoked) within a second',
    async () => {
      const { agentId, token } = await agentWithToken(tenant);
      const agent = await connect(agentId, token);
      const page = await newPage([401]);
      await signInWithToken(page);
      await open(page, 'Sessions');
      const row = page.getByRole('row', { name: new RegExp(agentId) });
      await expect.poll(() => row.count()).toBe(1);
      await row.getByRole('button', { name: 'Kick' }).click();
      // Contract §2: a kicked session is disconnected within 1 second, with reason `revoked`.
      const outcome = await Promise.race([
        agent.disconnected.then(() => 'disconnected'),
        new Promise<string>((resolve) => setTimeout(() => resolve('still connected after 1 s'), 1000)),
      ]);
      expect(outcome).toBe('disconnected');
      expect(agent.closed.map((c) => c.reason)).toEqual(['revoked']);
      // Live refresh: the row leaves the table without a reload.
      await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
    },
    BROWSER_TEST_MS,
  );

  it(
    "shows the server's validation message at the field of an invalid policy, then saves a valid one after its diff",
    async () => {
      const page = await newPage([400, 401]);
      await signInWithToken(page);
      await open(page, 'Policies');
      await page.getByLabel('Tenant', { exact: true }).selectOption(otherTenant);
      const editor = page.getByLabel('Policy document');
      await expect.poll(() => editor.inputValue()).toContain('"rules"');
      const invalid = {
        rules: [
          { effect: 'allow', actions: ['send'], from: {}, to: {} },
          { effect: 'maybe', actions: ['send'] },
        ],
      };
      await editor.fill(JSON.stringify(invalid, null, 2));
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      const alert = page.getByRole('alert');
      await expect.poll(() => alert.textContent()).toContain('rules[1].effect');
      // At the field it names: the line of `"effect": "maybe"` in the text area.
      const lines = JSON.stringify(invalid, null, 2).split('\n');
      const line = lines.findIndex((l) => l.includes('"maybe"')) + 1;
      await expect.poll(() => alert.textContent()).toContain(`At line ${line}`);
      await expect(editor.getAttribute('aria-invalid')).resolves.toBe('true');
      await screenshot(page, 'policies-invalid');
      expect((await admin.call('GET', `/admin/v1/tenants/${otherTenant}/policy`)).body).toMatchObject({ default: true });

      const valid = { rules: [{ effect: 'allow', actions: ['send', 'publish'], from: { capability: 'plan' }, to: {} }] };
      await editor.fill(JSON.stringify(valid, null, 2));
      const changes = page.getByRole('region', { name: 'Changes to save' });
      await expect.poll(() => changes.locator('.diff-added').count()).toBeGreaterThan(0);
      await screenshot(page, 'policies-diff');
      await expect.poll(() => changes.locator('.diff-added').allTextContents()).toContain('+         "capability": "plan"\n');
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await expect.poll(() => page.getByRole('status').filter({ hasText: 'Saved' }).count()).toBe(1);
      expect((await admin.call('GET', `/admin/v1/tenants/${otherTenant}/policy`)).body).toMatchObject({
        default: false,
        rules: valid.rules,
      });
      await expect.poll(() => page.getByRole('heading', { name: 'No unsaved changes' }).count()).toBe(1);
    },
    BROWSER_TEST_MS,
  );

  it("shows the server's message at the field of an invalid rate-limit document, and keeps the saved one", async () => {
    const page = await newPage([400, 401]);
    await signInWithToken(page);
    await open(page, 'Rate limits');
    const editor = page.getByLabel('Rate-limit document');
    await expect.poll(() => editor.inputValue()).not.toBe('');
    const before = (await admin.call('GET', '/admin/v1/rate-limits')).body.version;
    await editor.fill(JSON.stringify({ defaults: { messages_per_second: 10, burst_size: 20 } }, null, 2));
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('unknown field "burst_size" in defaults');
    await expect.poll(() => alert.textContent()).toContain('At line 4, column 5 (defaults.burst_size)');
    expect((await admin.call('GET', '/admin/v1/rate-limits')).body.version).toBe(before);
  });

  it(
    'shows agent.connect in Audit, reports the chain intact on Verify, and exports the filtered records',
    async () => {
      const { agentId, token } = await agentWithToken(tenant);
      await connect(agentId, token);
      await waitFor(
        async () =>
          (await db.query("SELECT 1 FROM audit_records WHERE action = 'agent.connect' AND actor_id = $1", [agentId])).rowCount === 1,
        15_000,
        'the agent.connect record',
      );
      const page = await newPage([401]);
      await signInWithToken(page);
      await open(page, 'Audit');
      // The tenant too: Verify then walks this tenant's chain, not every record of the shared test
      // database (over a million under the full suite, more than its time-out allows).
      await page.getByLabel('Tenant ID').fill(tenant);
      await page.getByLabel('Agent ID').fill(agentId);
      await expect.poll(() => page.getByLabel('Action').locator('option', { hasText: 'agent.connect' }).count()).toBeGreaterThan(0);
      await page.getByLabel('Action').selectOption('agent.connect');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await expect.poll(() => page.getByRole('row').count()).toBe(2);
      await expect(page.getByRole('cell', { name: 'agent.connect', exact: true }).count()).resolves.toBe(1);
      await page.getByRole('button', { name: /^Details of agent.connect/ }).click();
      await expect.poll(() => page.getByRole('heading', { name: 'Details', exact: true }).count()).toBe(1);

      await page.getByRole('button', { name: 'Verify' }).click();
      await expect.poll(() => page.locator('.verify').textContent(), { timeout: 20_000 }).toMatch(/^Chain intact: \d+ records checked$/);
      await screenshot(page, 'audit-verify');

      await page.getByLabel('Export format').selectOption('ndjson');
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
      const exported = readFileSync(await download.path(), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(exported.map((r) => [r.action, (r.actor as { id: string }).id])).toEqual([['agent.connect', agentId]]);
      await page.getByLabel('Export format').selectOption('csv');
      const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
      const rows = readFileSync(await csv.path(), 'utf8')
        .trim()
        .split('\n');
      expect(rows).toHaveLength(2);
      expect(rows[1]).toContain('agent.connect');
    },
    BROWSER_TEST_MS,
  );

  it(
    'shows an auditor the Audit page only, and the API refuses it the rest anyway',
    async () => {
      const page = await newPage([401, 403]);
      await signInWithSso(page, 'audrey');
      await expect.poll(() => page.getByText('audrey · auditor').count()).toBe(1);
      await expect(nav(page).getByRole('link').allTextContents()).resolves.toEqual(['Audit']);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Audit');
      // Another page by its URL: the auditor lands on Audit.
      await page.goto(`${publicUrl}/console/agents`);
      // The redirect is the app's own (after it learnt the roles): wait for the URL, not the heading.
      await expect.poll(() => new URL(page.url()).pathname).toBe('/console/audit');
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Audit');
      const status = await page.evaluate(async () => (await fetch('/admin/v1/agents')).status);
      expect(status).toBe(403);
    },
    BROWSER_TEST_MS,
  );

  it(
    'shows a tenant-bound admin its own tenant, without the deployment-wide pages',
    async () => {
      const page = await newPage([401]);
      await signInWithSso(page, 'tom');
      await expect.poll(() => page.getByText(`tom · admin · tenant ${tenant}`).count()).toBe(1);
      await expect(nav(page).getByRole('link').allTextContents()).resolves.toEqual([
        'Overview',
        'Agents',
        'Sessions',
        'Tenants',
        'Policies',
        'Audit',
      ]);
      await open(page, 'Tenants');
      await expect.poll(() => page.getByRole('row', { name: new RegExp(`^${tenant} `) }).count()).toBe(1);
      await expect(page.getByRole('row', { name: new RegExp(otherTenant) }).count()).resolves.toBe(0);
      await expect(page.getByRole('button', { name: 'Create tenant' }).count()).resolves.toBe(0);
    },
    BROWSER_TEST_MS,
  );
});
