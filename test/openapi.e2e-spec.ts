import { randomUUID } from 'node:crypto';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import { Ajv, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminModule } from '#libs/admin';
import { loadConfig } from '#libs/config';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, waitFor, type TestAgent } from './support/agents.js';
import { TEST_ADMIN_TOKEN, privateDatabaseUrl, uniqueId } from './support/env.js';
import { testEnv, startGateway, type GatewayProcess } from './support/gateway-process.js';
import { startTestIssuer, type TestIssuer } from './support/oidc-issuer.js';

interface Operation {
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  parameters?: { name: string; in: string }[];
}

/** Every route the admin module serves, read from the controllers' own Nest metadata. */
function adminRoutes(): { method: string; path: string }[] {
  const controllers = AdminModule.forRoot(loadConfig(testEnv(), '0.0.0')).controllers ?? [];
  const routes: { method: string; path: string }[] = [];
  for (const controller of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = (controller.prototype as Record<string, unknown>)[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      const sub = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      if (method === undefined || sub === undefined) continue;
      const path = `/${[base, sub].filter((p) => p && p !== '/').join('/')}`.replace(/:([A-Za-z]+)/g, '{$1}');
      routes.push({ method: RequestMethod[method].toLowerCase(), path });
    }
  }
  return routes.filter((r) => r.path.startsWith('/admin/'));
}

/** Changes that take no body: the sign-out of a console session. */
const NO_BODY = new Set(['post /admin/logout']);

/**
 * An OpenAPI 3.0 Schema Object as JSON Schema draft-07, for Ajv. The two dialects differ, for what
 * the document uses, only in `exclusiveMinimum`/`exclusiveMaximum` (3.0: a boolean beside
 * `minimum`; draft-07: the bound itself); `nullable` Ajv reads natively.
 */
function draft07(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(draft07);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, draft07(value)]));
  for (const [exclusive, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (out[exclusive] === true) {
      out[exclusive] = out[bound];
      delete out[bound];
    } else if (out[exclusive] === false) {
      delete out[exclusive];
    }
  }
  return out;
}

// A real gateway process (the production bootstrap) with a database of its own (the test replaces
// the deployment-wide rate-limit document) and admin SSO against a real OpenID provider (a role
// that is refused gives the real 403).
describe('admin OpenAPI document and HTTP hardening', () => {
  const databaseUrl = privateDatabaseUrl('openapi');
  let gateway: GatewayProcess;
  let issuer: TestIssuer;
  let document: { openapi: string; paths: Record<string, Record<string, Operation>> };

  beforeAll(async () => {
    issuer = await startTestIssuer();
    issuer.addClient('openapi-admin', 'openapi-admin-secret', { groups: ['gw-admins'] });
    issuer.addClient('openapi-auditor', 'openapi-auditor-secret', { groups: ['gw-audit'] });
    gateway = await startGateway({
      DATABASE_URL: databaseUrl,
      ADMIN_OIDC_ISSUER: issuer.issuer,
      ADMIN_OIDC_AUDIENCE: issuer.jwtAudience,
      OIDC_ALLOW_HTTP: 'true',
      ADMIN_ROLE_CLAIM: 'groups',
      ADMIN_ROLE_MAP: JSON.stringify({ 'gw-admins': 'admin', 'gw-audit': 'auditor' }),
    });
    document = (await (await fetch(`${gateway.adminUrl}/admin/docs/openapi.json`)).json()) as typeof document;
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await issuer?.stop();
  });

  it('lists every route of the admin API with its request and response schemas', () => {
    const routes = adminRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(29);
    expect(document.openapi).toMatch(/^3\./);
    for (const { method, path } of routes) {
      const operation = document.paths[path]?.[method];
      expect(operation, `${method.toUpperCase()} ${path} is missing from /admin/docs`).toBeDefined();
      const responses = operation?.responses ?? {};
      const success = Object.keys(responses).find((status) => /^[23]/.test(status));
      expect(success, `${method} ${path}: no success response`).toBeDefined();
      if (success !== '204' && success !== '302' && !path.endsWith('/export')) {
        expect(responses[success ?? '']?.content?.['application/json']?.schema, `${method} ${path}: no response schema`).toBeDefined();
      }
      expect(responses['403']?.content?.['application/json']?.schema, `${method} ${path}: no error schema`).toBeDefined();
      if (['post', 'put', 'patch'].includes(method) && !NO_BODY.has(`${method} ${path}`)) {
        expect(operation?.requestBody?.content?.['application/json']?.schema, `${method} ${path}: no request schema`).toBeDefined();
      }
    }
    // And nothing documented that is not served.
    const served = new Set(routes.map((r) => `${r.method} ${r.path}`));
    for (const [path, operations] of Object.entries(document.paths).filter(([p]) => p.startsWith('/admin/'))) {
      for (const method of Object.keys(operations)) expect(served.has(`${method} ${path}`), `${method} ${path}`).toBe(true);
    }
  });

  it('serves the documentation page', async () => {
    const page = await fetch(`${gateway.adminUrl}/admin/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
  });

  it('sends security headers and no CORS headers unless origins are configured', async () => {
    const response = await fetch(`${gateway.adminUrl}/admin/v1/tenants`, { headers: { origin: 'https://evil.example' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${gateway.adminUrl}/admin/v1/tenants`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers the browser login with 404 NOT_FOUND when it is not configured, and ignores a stray session cookie', async () => {
    const login = await fetch(`${gateway.adminUrl}/admin/login`, { redirect: 'manual' });
    expect(login.status).toBe(404);
    expect(((await login.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    const cookie = await fetch(`${gateway.adminUrl}/admin/v1/tenants`, { headers: { cookie: 'agw_admin_session=forged' } });
    expect(cookie.status).toBe(401);
  });

  it('serves every JSON answer of the admin API, success and error, exactly as the document declares it', async () => {
    // ajv-formats is CommonJS: its default export is the module, whose `default` is the plugin.
    const ajv = formats.default(new Ajv({ strict: true, allErrors: true }));
    const compiled = new Map<string, ValidateFunction>();
    /** What was validated: `<method> <documented path> <status>`. */
    const seen = new Set<string>();
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const agents: TestAgent[] = [];

    const validatorOf = (method: string, template: string, status: number): ValidateFunction => {
      const key = `${method} ${template} ${status}`;
      const cached = compiled.get(key);
      if (cached) return cached;
      const schema = document.paths[template]?.[method]?.responses?.[String(status)]?.content?.['application/json']?.schema;
      expect(schema, `${key}: no documented JSON schema for this answer`).toBeDefined();
      const validate = ajv.compile(draft07(schema) as object);
      compiled.set(key, validate);
      return validate;
    };
    const problems = (validate: ValidateFunction): string => ajv.errorsText(validate.errors, { separator: '; ' });

    /**
     * Calls a route of the document (path parameters filled from `params`), expects `status`, and
     * validates the body against the schema the document declares for that status. Success
     * schemas must be closed (an undocumented field is refused) and the error body open inside
     * `error` (fields such as `request_id` and `reason` may be added).
     */
    const exercise = async (
      client: AdminClient,
      method: string,
      template: string,
      status: number,
      options: { params?: Record<string, string>; query?: string; body?: unknown } = {},
    ): Promise<Record<string, unknown>> => {
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
        const value = options.params?.[name];
        if (value === undefined) throw new Error(`${template}: no value for {${name}}`);
        return encodeURIComponent(value);
      });
      const response = await client.call(method.toUpperCase(), `${path}${options.query ? `?${options.query}` : ''}`, options.body);
      const what = `${method.toUpperCase()} ${path}${options.query ? `?${options.query}` : ''} → ${response.status} ${JSON.stringify(response.body)}`;
      expect(response.status, what).toBe(status);
      const validate = validatorOf(method, template, status);
      expect(validate(response.body), `${what}\n  does not match the documented ${status}: ${problems(validate)}`).toBe(true);
      if (status < 300) {
        expect(validate({ ...response.body, undocumented_field: true }), `${what}: the documented ${status} is open`).toBe(false);
      } else {
        const error = response.body.error as Record<string, unknown>;
        const extended = { error: { ...error, request_id: randomUUID(), reason: 'some_reason', added_later: 1 } };
        expect(validate(extended), `${what}: the documented error body refuses extra fields: ${problems(validate)}`).toBe(true);
      }
      seen.add(`${method} ${template} ${status}`);
      return response.body;
    };

    const admin = adminClient(gateway);
    const anonymous = adminClient(gateway, 'not-a-valid-admin-token');
    const sso = adminClient(gateway, await issuer.jwtToken('openapi-admin', 'openapi-admin-secret'));
    const auditor = adminClient(gateway, await issuer.jwtToken('openapi-auditor', 'openapi-auditor-secret'));
    try {
      const tenant = uniqueId('oa');
      const agent = uniqueId('oa-agent');
      const other = uniqueId('oa-other');

      // Tenants.
      await exercise(admin, 'post', '/admin/v1/tenants', 201, { body: { tenant_id: tenant, name: 'OpenAPI' } });
      await exercise(admin, 'post', '/admin/v1/tenants', 201, { body: { tenant_id: uniqueId('oa'), name: 'Second' } });
      await exercise(admin, 'post', '/admin/v1/tenants', 409, { body: { tenant_id: tenant, name: 'again' } });
      await exercise(admin, 'post', '/admin/v1/tenants', 400, { body: { tenant_id: 'not a tenant id', name: 'x' } });
      await exercise(auditor, 'post', '/admin/v1/tenants', 403, { body: { tenant_id: uniqueId('oa'), name: 'x' } });
      await exercise(anonymous, 'get', '/admin/v1/tenants', 401);
      expect((await exercise(admin, 'get', '/admin/v1/tenants', 200, { query: 'limit=1' })).next_cursor).toEqual(expect.any(String));

      // Agents.
      await exercise(admin, 'post', '/admin/v1/agents', 201, {
        body: { agent_id: agent, tenant_id: tenant, capabilities: ['plan'], description: 'plans', metadata: { team: 'a' } },
      });
      await exercise(admin, 'post', '/admin/v1/agents', 201, { body: { agent_id: other, tenant_id: tenant, status: 'disabled' } });
      await exercise(admin, 'get', '/admin/v1/agents', 200, { query: `tenant_id=${tenant}` });
      await exercise(admin, 'get', '/admin/v1/agents/{agentId}', 200, { params: { agentId: agent } });
      await exercise(admin, 'get', '/admin/v1/agents/{agentId}', 404, { params: { agentId: uniqueId('absent') } });
      await exercise(admin, 'patch', '/admin/v1/agents/{agentId}', 200, { params: { agentId: agent }, body: { agent_name: 'Planner' } });
      await exercise(admin, 'patch', '/admin/v1/agents/{agentId}', 400, { params: { agentId: agent }, body: {} });

      // Credentials.
      const tokens = '/admin/v1/agents/{agentId}/tokens';
      const issued = await exercise(admin, 'post', tokens, 201, { params: { agentId: agent }, body: { name: 'ci', expires_in_s: 3600 } });
      await exercise(admin, 'post', tokens, 201, { params: { agentId: agent }, body: {} });
      await exercise(admin, 'get', tokens, 200, { params: { agentId: agent } });
      await exercise(admin, 'get', tokens, 400, { params: { agentId: agent }, query: 'cursor=eHx5' });
      const certificates = '/admin/v1/agents/{agentId}/certificates';
      for (const body of [{ fingerprint_sha256: 'ab'.repeat(32) }, { spiffe_id: `spiffe://corp/${agent}` }, { subject_cn: agent }])
        await exercise(admin, 'post', certificates, 201, { params: { agentId: agent }, body });
      const certificate = (await exercise(admin, 'get', certificates, 200, { params: { agentId: agent } })).items as { id: string }[];
      const subjects = '/admin/v1/agents/{agentId}/oidc-subjects';
      await exercise(admin, 'post', subjects, 201, { params: { agentId: agent }, body: { subject: uniqueId('sub') } });
      await exercise(admin, 'post', subjects, 201, {
        params: { agentId: agent },
        body: { subject: uniqueId('sub'), issuer: 'https://idp.example.com/' },
      });
      const subject = (await exercise(admin, 'get', subjects, 200, { params: { agentId: agent } })).items as { id: string }[];

      // Policy and rate limits (this database only).
      await exercise(admin, 'get', '/admin/v1/tenants/{tenantId}/policy', 200, { params: { tenantId: tenant } });
      await exercise(admin, 'put', '/admin/v1/tenants/{tenantId}/policy', 200, {
        params: { tenantId: tenant },
        body: { rules: [{ effect: 'allow', actions: ['send'], from: { capability: 'plan' }, to: { agent_id: 'tool-*' } }] },
      });
      await exercise(admin, 'put', '/admin/v1/tenants/{tenantId}/policy', 400, { params: { tenantId: tenant }, body: { rules: 'all' } });
      const dryRun = '/admin/v1/tenants/{tenantId}/policy/test';
      await exercise(admin, 'post', dryRun, 200, {
        params: { tenantId: tenant },
        body: { action: 'send', from: { agent_id: agent }, to: { agent_id: other, capabilities: ['search'] } },
      });
      await exercise(admin, 'post', dryRun, 400, {
        params: { tenantId: tenant },
        body: { document: { rules: 'all' }, action: 'publish', from: { agent_id: agent }, topic: 'jobs/1' },
      });
      await exercise(admin, 'get', '/admin/v1/tenants/{tenantId}/policy', 200, { params: { tenantId: tenant } });
      await exercise(admin, 'get', '/admin/v1/rate-limits', 200);
      await exercise(admin, 'put', '/admin/v1/rate-limits', 200, {
        body: {
          defaults: { messages_per_second: 100_000, burst: 100_000, connects_per_minute_per_ip: 100_000 },
          tenants: { [tenant]: { messages_per_second: 50_000, burst: 50_000, tenant_messages_per_second: 90_000.5 } },
          agents: { [agent]: { messages_per_second: 2.5, burst: 10 } },
        },
      });
      await exercise(admin, 'get', '/admin/v1/rate-limits', 200);

      // A live session, its audit records and the chain check.
      agents.push(await connectAgent(gateway.url, { agentId: agent, token: String(issued.token) }));
      await exercise(admin, 'get', '/admin/v1/sessions', 200, { query: `tenant_id=${tenant}` });
      await exercise(admin, 'delete', '/admin/v1/sessions/{sessionId}', 404, { params: { sessionId: randomUUID() } });
      await waitFor(
        async () =>
          ((await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&action=agent.connect`)).body.items as unknown[]).length > 0,
        10_000,
        'the agent.connect record',
      );
      await exercise(auditor, 'get', '/admin/v1/audit', 200, { query: `tenant_id=${tenant}&limit=5` });
      await exercise(admin, 'get', '/admin/v1/audit', 400, { query: 'since=yesterday' });
      await exercise(admin, 'get', '/admin/v1/audit/export', 400, { query: 'format=xml' });
      await exercise(auditor, 'get', '/admin/v1/audit/verify', 200, { query: `tenant_id=${tenant}` });
      expect((await exercise(admin, 'get', '/admin/v1/audit/verify', 200, { query: `tenant_id=${tenant}&limit=1` })).complete).toBe(false);
      await db.query(`UPDATE audit_records SET details = '{"edited":true}' WHERE chain_key = $1 AND seq = 2`, [tenant]);
      expect(await exercise(admin, 'get', '/admin/v1/audit/verify', 200, { query: `tenant_id=${tenant}` })).toMatchObject({
        ok: false,
        problem: 'hash_mismatch',
      });

      // Who is signed in, signing out, and the browser login when it is not configured.
      expect(await exercise(admin, 'get', '/admin/session', 200)).toMatchObject({ kind: 'break_glass' });
      expect(await exercise(sso, 'get', '/admin/session', 200)).toMatchObject({ kind: 'sso' });
      await exercise(anonymous, 'get', '/admin/session', 401);
      await exercise(sso, 'post', '/admin/logout', 200);
      await exercise(admin, 'get', '/admin/login', 404);
      // The console's sign-in page and its break-glass form, and the Overview.
      expect(await exercise(anonymous, 'get', '/admin/login/methods', 200)).toEqual({ sso: false, break_glass: true });
      await exercise(anonymous, 'post', '/admin/login/token', 200, { body: { token: TEST_ADMIN_TOKEN } });
      await exercise(anonymous, 'post', '/admin/login/token', 401, { body: { token: 'not-the-admin-token' } });
      await exercise(anonymous, 'post', '/admin/login/token', 400, { body: { token: '' } });
      await exercise(admin, 'get', '/admin/v1/overview', 200);
      await exercise(auditor, 'get', '/admin/v1/overview', 403);
      await exercise(admin, 'get', '/admin/callback', 404, { query: 'code=x&state=y' });

      // Removals: no body on success, the documented error when there is nothing to remove.
      await exercise(admin, 'delete', '/admin/v1/tokens/{tokenId}', 404, { params: { tokenId: randomUUID() } });
      expect((await admin.call('DELETE', `/admin/v1/tokens/${String(issued.token_id)}`)).status).toBe(204);
      await exercise(admin, 'delete', '/admin/v1/certificates/{bindingId}', 404, { params: { bindingId: randomUUID() } });
      expect((await admin.call('DELETE', `/admin/v1/certificates/${certificate[0]?.id ?? ''}`)).status).toBe(204);
      await exercise(admin, 'delete', '/admin/v1/oidc-subjects/{subjectId}', 404, { params: { subjectId: randomUUID() } });
      expect((await admin.call('DELETE', `/admin/v1/oidc-subjects/${subject[0]?.id ?? ''}`)).status).toBe(204);
      await exercise(admin, 'delete', '/admin/v1/agents/{agentId}', 404, { params: { agentId: uniqueId('absent') } });
      expect((await admin.call('DELETE', `/admin/v1/agents/${other}`)).status).toBe(204);
    } finally {
      for (const a of agents) a.socket.close();
      await db.end();
    }

    // Every documented JSON success answer of the admin API was served and validated above
    // (a route added later fails here until this test calls it), and each error status too.
    const missing: string[] = [];
    for (const [path, operations] of Object.entries(document.paths).filter(([p]) => p.startsWith('/admin/'))) {
      for (const [method, operation] of Object.entries(operations)) {
        const success = Object.keys(operation.responses ?? {}).find((status) => /^2/.test(status));
        const json = success && operation.responses?.[success]?.content?.['application/json'];
        if (json && !seen.has(`${method} ${path} ${success}`)) missing.push(`${method} ${path} ${success}`);
      }
    }
    expect(missing, 'documented JSON answers this test never validated').toEqual([]);
    for (const status of [400, 401, 403, 404, 409])
      expect(
        [...seen].some((key) => key.endsWith(` ${status}`)),
        `no ${status} validated`,
      ).toBe(true);
  }, 60_000);
});
