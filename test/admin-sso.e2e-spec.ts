import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, waitFor } from './support/agents.js';
import { auditQueueDrained } from './support/audit-queue.js';
import { TEST_DATABASE_URL, uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { startTestIssuer, type TestIssuer } from './support/oidc-issuer.js';

type Role = 'admin' | 'operator' | 'auditor';

// Admin SSO against a real OpenID provider issuing access tokens with group claims, on two
// gateway nodes sharing Redis: the role matrix over every route, tenant-bound admins, and a kick
// that crosses nodes.
describe('admin SSO, roles and sessions (contract §7)', () => {
  const db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  let issuer: TestIssuer;
  let nodeA: GatewayProcess;
  let nodeB: GatewayProcess;
  let breakGlass: AdminClient;
  const tokens = new Map<string, string>();
  let tenant: string;
  let otherTenant: string;
  let agentId: string;
  let otherAgent: string;
  let otherTokenId: string;
  const clients: Record<string, Record<string, unknown>> = {
    'sso-admin': { groups: ['gw-admins'] },
    'sso-operator': { groups: ['gw-ops', 'unrelated'] },
    'sso-auditor': { groups: 'gw-audit' },
    'sso-nobody': { groups: ['staff'] },
  };

  const as = (client: string): AdminClient => adminClient(nodeA, tokens.get(client));
  const deniedCount = async (actor: string): Promise<number> =>
    Number(
      (await db.query<{ n: string }>("SELECT count(*) AS n FROM audit_records WHERE action = 'admin.denied' AND actor_id = $1", [actor]))
        .rows[0]?.n,
    );

  beforeAll(async () => {
    issuer = await startTestIssuer();
    tenant = uniqueId('sso-t');
    otherTenant = uniqueId('sso-u');
    clients['sso-tenant-admin'] = { groups: ['gw-admins'], tenant };
    for (const [id, claims] of Object.entries(clients)) issuer.addClient(id, `${id}-secret`, claims);
    const prefix = uniquePrefix();
    const env = {
      REDIS_KEY_PREFIX: prefix,
      ADMIN_OIDC_ISSUER: issuer.issuer,
      ADMIN_OIDC_AUDIENCE: issuer.jwtAudience,
      OIDC_ALLOW_HTTP: 'true',
      ADMIN_ROLE_CLAIM: 'groups',
      ADMIN_ROLE_MAP: JSON.stringify({ 'gw-admins': 'admin', 'gw-ops': 'operator', 'gw-audit': 'auditor' }),
      ADMIN_TENANT_CLAIM: 'tenant',
    };
    [nodeA, nodeB] = await Promise.all([startGateway(env), startGateway(env)]);
    for (const id of Object.keys(clients)) tokens.set(id, await issuer.jwtToken(id, `${id}-secret`));
    breakGlass = adminClient(nodeA);
    await breakGlass.tenant(tenant);
    await breakGlass.tenant(otherTenant);
    agentId = await breakGlass.agent(tenant);
    otherAgent = await breakGlass.agent(otherTenant);
    otherTokenId = (await breakGlass.token(otherAgent)).token_id;
  }, 60_000);

  afterAll(async () => {
    await Promise.all([nodeA?.stop(), nodeB?.stop()]);
    await issuer?.stop();
    await db.end();
  });

  /** Every route of the admin API, with the roles that may call it (`admin` may call all). */
  const routes = (): { method: string; path: string; body?: unknown; roles: Role[] }[] => [
    { method: 'POST', path: '/admin/v1/tenants', body: { tenant_id: uniqueId('rbac'), name: 'x' }, roles: ['admin'] },
    { method: 'GET', path: '/admin/v1/tenants', roles: ['admin', 'operator'] },
    { method: 'POST', path: '/admin/v1/agents', body: { agent_id: uniqueId('rbac'), tenant_id: tenant }, roles: ['admin', 'operator'] },
    { method: 'GET', path: '/admin/v1/agents', roles: ['admin', 'operator'] },
    { method: 'GET', path: `/admin/v1/agents/${agentId}`, roles: ['admin', 'operator'] },
    { method: 'PATCH', path: `/admin/v1/agents/${agentId}`, body: { agent_name: 'renamed' }, roles: ['admin', 'operator'] },
    { method: 'DELETE', path: `/admin/v1/agents/${uniqueId('absent')}`, roles: ['admin', 'operator'] },
    { method: 'POST', path: `/admin/v1/agents/${agentId}/tokens`, body: {}, roles: ['admin', 'operator'] },
    { method: 'GET', path: `/admin/v1/agents/${agentId}/tokens`, roles: ['admin', 'operator'] },
    { method: 'DELETE', path: `/admin/v1/tokens/${randomUUID()}`, roles: ['admin', 'operator'] },
    {
      method: 'POST',
      path: `/admin/v1/agents/${agentId}/certificates`,
      body: { subject_cn: uniqueId('cn') },
      roles: ['admin', 'operator'],
    },
    { method: 'GET', path: `/admin/v1/agents/${agentId}/certificates`, roles: ['admin', 'operator'] },
    { method: 'DELETE', path: `/admin/v1/certificates/${randomUUID()}`, roles: ['admin', 'operator'] },
    { method: 'POST', path: `/admin/v1/agents/${agentId}/oidc-subjects`, body: { subject: uniqueId('sub') }, roles: ['admin', 'operator'] },
    { method: 'GET', path: `/admin/v1/agents/${agentId}/oidc-subjects`, roles: ['admin', 'operator'] },
    { method: 'DELETE', path: `/admin/v1/oidc-subjects/${randomUUID()}`, roles: ['admin', 'operator'] },
    { method: 'GET', path: `/admin/v1/tenants/${tenant}/policy`, roles: ['admin', 'operator'] },
    { method: 'PUT', path: `/admin/v1/tenants/${tenant}/policy`, body: { rules: [] }, roles: ['admin'] },
    { method: 'GET', path: '/admin/v1/rate-limits', roles: ['admin', 'operator'] },
    // Refused by validation when allowed (400), so the suite never changes the shared limits.
    { method: 'PUT', path: '/admin/v1/rate-limits', body: { defaults: 'nonsense' }, roles: ['admin'] },
    { method: 'GET', path: '/admin/v1/sessions', roles: ['admin', 'operator'] },
    { method: 'DELETE', path: `/admin/v1/sessions/${randomUUID()}`, roles: ['admin', 'operator'] },
    { method: 'GET', path: `/admin/v1/audit?tenant_id=${tenant}`, roles: ['admin', 'auditor'] },
    { method: 'GET', path: `/admin/v1/audit/export?tenant_id=${tenant}&format=csv`, roles: ['admin', 'auditor'] },
    { method: 'GET', path: `/admin/v1/audit/verify?tenant_id=${tenant}`, roles: ['admin', 'auditor'] },
  ];

  it('lets each role call exactly its routes: every other call is 403 FORBIDDEN and an admin.denied record', async () => {
    for (const role of ['admin', 'operator', 'auditor'] as const) {
      const client = as(`sso-${role}`);
      const deniedBefore = await deniedCount(`sso-${role}`);
      let denials = 0;
      for (const route of routes()) {
        const { status, body } = await client.call(route.method, route.path, route.body);
        const what = `${role} ${route.method} ${route.path} → ${status} ${JSON.stringify(body)}`;
        if (route.roles.includes(role)) {
          expect([200, 201, 204, 400, 404], what).toContain(status);
        } else {
          expect({ status, code: (body.error as { code?: string } | undefined)?.code }, what).toEqual({ status: 403, code: 'FORBIDDEN' });
          denials++;
        }
      }
      await waitFor(
        async () => (await deniedCount(`sso-${role}`)) === deniedBefore + denials,
        10_000,
        `${role}'s ${denials} denial records`,
      );
    }
  });

  it('records every use of the break-glass token, reads included', async () => {
    // Records of this node only: other suites use the break-glass token on their own gateways.
    const used = async () =>
      (
        await db.query<{ outcome: string; remote_addr: string }>(
          "SELECT outcome, remote_addr FROM audit_records WHERE action = 'admin.break_glass' AND actor_id = 'break-glass' AND subject = 'GET /admin/v1/agents' AND node_id = $1",
          [nodeA.nodeId],
        )
      ).rows;
    expect((await breakGlass.call('GET', `/admin/v1/agents?tenant_id=${tenant}`)).status).toBe(200);
    await waitFor(async () => (await used()).length >= 1, 10_000, 'the admin.break_glass record');
    expect((await used())[0]).toMatchObject({ outcome: 'allowed', remote_addr: expect.any(String) });
    // An SSO token is not break-glass. Barrier: one more break-glass request after it; once its
    // record is written and the node's audit queue is empty, a record of the SSO request, made
    // before it, would be written too: exactly one more.
    const before = (await used()).length;
    expect((await as('sso-admin').call('GET', '/admin/v1/agents')).status).toBe(200);
    expect((await breakGlass.call('GET', '/admin/v1/agents')).status).toBe(200);
    await waitFor(async () => (await used()).length >= before + 1, 10_000, 'the later admin.break_glass record');
    await auditQueueDrained(nodeA.env.REDIS_KEY_PREFIX ?? '');
    expect((await used()).length).toBe(before + 1);
  });

  it('refuses a valid token without a mapped role (403, audited) and a forged one (401)', async () => {
    const before = await deniedCount('sso-nobody');
    expect(await as('sso-nobody').call('GET', '/admin/v1/tenants')).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    await waitFor(async () => (await deniedCount('sso-nobody')) === before + 1, 10_000, 'the denial record');
    const token = tokens.get('sso-admin') ?? '';
    const forged = `${token.slice(0, -4)}AAAA`;
    expect(await adminClient(nodeA, forged).call('GET', '/admin/v1/tenants')).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHORIZED' } },
    });
  });

  it('keeps a tenant-bound admin inside its tenant', async () => {
    const bound = as('sso-tenant-admin');
    // Its own tenant: full admin.
    expect((await bound.call('GET', `/admin/v1/agents/${agentId}`)).status).toBe(200);
    expect((await bound.call('PUT', `/admin/v1/tenants/${tenant}/policy`, { rules: [] })).status).toBe(200);
    const listed = await bound.call('GET', '/admin/v1/agents');
    expect((listed.body.items as { tenant_id: string }[]).every((a) => a.tenant_id === tenant)).toBe(true);
    expect((await bound.call('GET', '/admin/v1/tenants')).body.items).toEqual([expect.objectContaining({ tenant_id: tenant })]);
    const audit = await bound.call('GET', '/admin/v1/audit?limit=50');
    expect((audit.body.items as { tenant_id: string }[]).every((r) => r.tenant_id === tenant)).toBe(true);
    // Anything else: 403, audited.
    const before = await deniedCount('sso-tenant-admin');
    const outside: [string, string, unknown?][] = [
      ['GET', `/admin/v1/agents/${otherAgent}`],
      ['PATCH', `/admin/v1/agents/${otherAgent}`, { agent_name: 'taken' }],
      ['GET', `/admin/v1/agents?tenant_id=${otherTenant}`],
      ['POST', '/admin/v1/agents', { agent_id: uniqueId('x'), tenant_id: otherTenant }],
      ['POST', `/admin/v1/agents/${otherAgent}/tokens`, {}],
      ['DELETE', `/admin/v1/tokens/${otherTokenId}`],
      ['PUT', `/admin/v1/tenants/${otherTenant}/policy`, { rules: [] }],
      ['POST', '/admin/v1/tenants', { tenant_id: uniqueId('x'), name: 'x' }],
      ['GET', '/admin/v1/rate-limits'],
      ['GET', `/admin/v1/audit?tenant_id=${otherTenant}`],
      ['GET', `/admin/v1/audit/verify?tenant_id=${otherTenant}`],
      ['GET', `/admin/v1/sessions?tenant_id=${otherTenant}`],
    ];
    for (const [method, path, body] of outside) {
      const response = await bound.call(method, path, body);
      expect({ status: response.status, code: (response.body.error as { code?: string } | undefined)?.code }, `${method} ${path}`).toEqual({
        status: 403,
        code: 'FORBIDDEN',
      });
    }
    await waitFor(async () => (await deniedCount('sso-tenant-admin')) === before + outside.length, 10_000, 'the denial records');
    // The other tenant's agent is untouched and its token still valid.
    expect((await breakGlass.call('GET', `/admin/v1/agents/${otherAgent}`)).body).not.toMatchObject({ agent_name: 'taken' });
  });

  it('lists sessions of every node and kicks one on another node within a second', async () => {
    const victim = await breakGlass.agent(tenant);
    const agent = await connectAgent(nodeB.url, { agentId: victim, token: (await breakGlass.token(victim)).token });
    const operator = as('sso-operator');
    const listed = await operator.call('GET', `/admin/v1/sessions?tenant_id=${tenant}`);
    const session = (listed.body.items as { agent_id: string; session_id: string; node_id: string }[]).find((s) => s.agent_id === victim);
    expect(session).toMatchObject({ session_id: agent.session.session_id, node_id: nodeB.nodeId });
    const kickedAt = Date.now();
    expect((await operator.call('DELETE', `/admin/v1/sessions/${agent.session.session_id}`)).status).toBe(204);
    await agent.disconnected;
    expect(Date.now() - kickedAt).toBeLessThan(1_000);
    expect(agent.closed).toEqual([expect.objectContaining({ reason: 'revoked', reconnect: false })]);
    await waitFor(
      async () =>
        Number(
          (
            await db.query<{ n: string }>(
              "SELECT count(*) AS n FROM audit_records WHERE action = 'session.kicked' AND session_id = $1 AND actor_id = 'sso-operator'",
              [agent.session.session_id],
            )
          ).rows[0]?.n,
        ) === 1,
      10_000,
      'the session.kicked record',
    );
    expect((await operator.call('DELETE', `/admin/v1/sessions/${agent.session.session_id}`)).status).toBe(404);
  });
});
