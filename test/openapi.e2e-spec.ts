import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminModule } from '#libs/admin';
import { loadConfig } from '#libs/config';
import { testEnv, startGateway, type GatewayProcess } from './support/gateway-process.js';

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

describe('admin OpenAPI document and HTTP hardening', () => {
  let gateway: GatewayProcess;
  let document: { openapi: string; paths: Record<string, Record<string, Operation>> };

  beforeAll(async () => {
    gateway = await startGateway({});
    document = (await (await fetch(`${gateway.adminUrl}/admin/docs/openapi.json`)).json()) as typeof document;
  });

  afterAll(async () => {
    await gateway?.stop();
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
});
