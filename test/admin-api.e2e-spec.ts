import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type AdminClient } from './support/admin.js';
import { http, provisionAgent, waitFor } from './support/agents.js';
import { uniqueId } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// The admin API of a real gateway process, with the break-glass ADMIN_TOKEN, against real Postgres.
describe('admin API (contract §7): tenants, agents and credentials', () => {
  let gateway: GatewayProcess;
  let admin: AdminClient;

  beforeAll(async () => {
    gateway = await startGateway({});
    admin = adminClient(gateway);
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it('refuses calls without the admin token, or with a wrong one, with 401 UNAUTHORIZED', async () => {
    expect(await http('GET', `${gateway.adminUrl}/admin/v1/tenants`)).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHORIZED' } },
    });
    expect(await adminClient(gateway, 'x'.repeat(44)).call('GET', '/admin/v1/tenants')).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHORIZED', message: 'invalid admin credential' } },
    });
    expect(await http('GET', `${gateway.adminUrl}/healthz`)).toMatchObject({ status: 200 });
  });

  it('is not served on the agent port', async () => {
    expect((await http('GET', `${gateway.url}/admin/v1/tenants`)).status).toBe(404);
  });

  it('creates and lists tenants with cursor pages', async () => {
    const prefix = uniqueId('page');
    for (const n of [1, 2, 3]) {
      const created = await admin.call('POST', '/admin/v1/tenants', { tenant_id: `${prefix}-${n}`, name: `Tenant ${n}` });
      expect(created).toEqual({
        status: 201,
        body: { tenant_id: `${prefix}-${n}`, name: `Tenant ${n}`, created_at: expect.stringMatching(ISO) },
      });
    }
    expect(await admin.call('POST', '/admin/v1/tenants', { tenant_id: `${prefix}-1`, name: 'again' })).toMatchObject({
      status: 409,
      body: { error: { code: 'CONFLICT' } },
    });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: Record<string, unknown> } = await admin.call(
        'GET',
        `/admin/v1/tenants?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      expect(Object.keys(page.body).sort()).toEqual(['items', 'next_cursor']);
      const items = page.body.items as { tenant_id: string }[];
      expect(items.length).toBeLessThanOrEqual(2);
      seen.push(...items.map((t) => t.tenant_id));
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    expect(seen.filter((id) => id.startsWith(prefix))).toEqual([`${prefix}-1`, `${prefix}-2`, `${prefix}-3`]);
  });

  it('validates bodies and queries with INVALID_MESSAGE naming the field', async () => {
    expect(await admin.call('POST', '/admin/v1/tenants', { tenant_id: 'bad id!', name: 'x' })).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_MESSAGE', message: expect.stringContaining('tenant_id') } },
    });
    expect(await admin.call('POST', '/admin/v1/tenants', { tenant_id: 'ok', name: 'x', extra: 1 })).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_MESSAGE', message: expect.stringContaining('extra') } },
    });
    expect(await admin.call('GET', '/admin/v1/agents?limit=0')).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_MESSAGE', message: expect.stringContaining('limit') } },
    });
    expect(await admin.call('GET', '/admin/v1/agents?cursor=%%%')).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_MESSAGE' } },
    });
  });

  it('registers, reads, filters, changes and removes agents', async () => {
    const tenant = await admin.tenant();
    const id = uniqueId('planner');
    const created = await admin.call('POST', '/admin/v1/agents', {
      agent_id: id,
      tenant_id: tenant,
      agent_name: 'Planner',
      capabilities: ['plan'],
      description: 'plans',
      metadata: { team: 'a' },
    });
    const agent = {
      agent_id: id,
      tenant_id: tenant,
      agent_name: 'Planner',
      capabilities: ['plan'],
      description: 'plans',
      metadata: { team: 'a' },
      status: 'enabled',
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    };
    expect(created).toEqual({ status: 201, body: agent });
    expect(await admin.call('GET', `/admin/v1/agents/${id}`)).toEqual({ status: 200, body: agent });
    expect(await admin.call('POST', '/admin/v1/agents', { agent_id: id, tenant_id: tenant })).toMatchObject({ status: 409 });
    expect(await admin.call('POST', '/admin/v1/agents', { agent_id: uniqueId('x'), tenant_id: 'no-such-tenant' })).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
    const other = await admin.agent(tenant);
    await admin.call('PATCH', `/admin/v1/agents/${other}`, { status: 'disabled' });
    const enabled = await admin.call('GET', `/admin/v1/agents?tenant_id=${tenant}&status=enabled`);
    expect((enabled.body.items as { agent_id: string }[]).map((a) => a.agent_id)).toEqual([id]);
    const changed = await admin.call('PATCH', `/admin/v1/agents/${id}`, { agent_name: 'Planner II', capabilities: [] });
    expect(changed).toMatchObject({ status: 200, body: { agent_name: 'Planner II', capabilities: [] } });
    expect(await admin.call('PATCH', `/admin/v1/agents/${id}`, {})).toMatchObject({ status: 400 });
    expect(await admin.call('DELETE', `/admin/v1/agents/${id}`)).toMatchObject({ status: 204 });
    expect(await admin.call('GET', `/admin/v1/agents/${id}`)).toMatchObject({ status: 404, body: { error: { code: 'AGENT_NOT_FOUND' } } });
    expect(await admin.call('DELETE', `/admin/v1/agents/${id}`)).toMatchObject({ status: 404 });
  });

  it('issues a token once, lists tokens without secrets, and revokes', async () => {
    const tenant = await admin.tenant();
    const agent = await admin.agent(tenant);
    const issued = await admin.call('POST', `/admin/v1/agents/${agent}/tokens`, { expires_in_s: 3600 });
    expect(issued).toEqual({
      status: 201,
      body: {
        token_id: expect.stringMatching(UUID),
        name: null,
        token: expect.stringMatching(/^agt_[A-Za-z0-9_-]{43}$/),
        expires_at: expect.stringMatching(ISO),
      },
    });
    const token = issued.body.token as string;
    const list = await admin.call('GET', `/admin/v1/agents/${agent}/tokens`);
    expect(list.body.items).toEqual([
      {
        token_id: issued.body.token_id,
        agent_id: agent,
        name: null,
        hint: `${token.slice(0, 8)}…`,
        created_at: expect.stringMatching(ISO),
        expires_at: issued.body.expires_at,
        revoked_at: null,
        last_used_at: null,
      },
    ]);
    expect(JSON.stringify(list.body)).not.toContain(token);
    expect(await admin.call('POST', `/admin/v1/agents/${agent}/tokens`, { expires_at: '2000-01-01T00:00:00Z' })).toMatchObject({
      status: 400,
    });
    expect(await admin.call('POST', '/admin/v1/agents/nobody/tokens', {})).toMatchObject({
      status: 404,
      body: { error: { code: 'AGENT_NOT_FOUND' } },
    });
    expect(await admin.call('DELETE', `/admin/v1/tokens/${String(issued.body.token_id)}`)).toMatchObject({ status: 204 });
    const after = await admin.call('GET', `/admin/v1/agents/${agent}/tokens`);
    expect((after.body.items as { revoked_at: string | null }[])[0]?.revoked_at).toMatch(ISO);
    expect(await admin.call('DELETE', '/admin/v1/tokens/00000000-0000-0000-0000-000000000000')).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
  });

  it('names tokens: shown at creation, in lists and in the audit record (never the token), validated as printable text', async () => {
    const tenant = await admin.tenant();
    const agent = await admin.agent(tenant);
    const name = 'déploiement CI — eu-west/1 ✓';
    const named = await admin.call('POST', `/admin/v1/agents/${agent}/tokens`, { name, expires_in_s: 600 });
    expect(named).toMatchObject({
      status: 201,
      body: { name, token: expect.stringMatching(/^agt_/), expires_at: expect.stringMatching(ISO) },
    });
    // expires_at instead of expires_in_s still works, with or without a name.
    const at = new Date(Date.now() + 3_600_000).toISOString();
    expect(await admin.call('POST', `/admin/v1/agents/${agent}/tokens`, { name: 'x', expires_at: at })).toMatchObject({
      status: 201,
      body: { name: 'x', expires_at: at },
    });
    expect(await admin.call('POST', `/admin/v1/agents/${agent}/tokens`, { name: null })).toMatchObject({
      status: 201,
      body: { name: null },
    });
    // From the operator CLI too.
    const cliAgent = uniqueId('cli-named');
    await provisionAgent(cliAgent, tenant, { tokenName: 'bootstrap token', redisKeyPrefix: gateway.env.REDIS_KEY_PREFIX });
    const list = await admin.call('GET', `/admin/v1/agents/${agent}/tokens`);
    expect((list.body.items as { name: string | null }[]).map((t) => t.name).sort()).toEqual([name, 'x', null].sort());
    expect((await admin.call('GET', `/admin/v1/agents/${cliAgent}/tokens`)).body.items).toEqual([
      expect.objectContaining({ name: 'bootstrap token' }),
    ]);
    await waitFor(
      async () =>
        ((await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&action=credential.created`)).body.items as unknown[]).length === 4,
      10_000,
      'the credential.created records',
    );
    const records = (await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&action=credential.created`)).body.items as {
      subject: string;
      details: { after: Record<string, unknown> };
    }[];
    expect(records.find((r) => r.details.after.token_id === named.body.token_id)?.details.after).toEqual({
      kind: 'token',
      token_id: named.body.token_id,
      name,
      hint: `${String(named.body.token).slice(0, 8)}…`,
      expires_at: named.body.expires_at,
    });
    expect(records.find((r) => r.subject === cliAgent)?.details.after).toMatchObject({ name: 'bootstrap token' });
    expect(JSON.stringify(records)).not.toContain(String(named.body.token).slice(4));

    const refused = [
      '',
      'x'.repeat(129),
      ' leading space',
      'trailing space ',
      'line\nbreak',
      'tab\there',
      'nul\u0000',
      'bidi \u202e override', // would show "edirrevo" reversed in a console
      'zero\u200bwidth',
      42,
    ];
    for (const bad of refused) {
      expect(await admin.call('POST', `/admin/v1/agents/${agent}/tokens`, { name: bad }), JSON.stringify(bad)).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_MESSAGE', message: expect.stringMatching(/^name: /) } },
      });
    }
    // The CLI has no request schema: the service refuses the name itself.
    await expect(provisionAgent(uniqueId('cli-bad'), tenant, { tokenName: 'bidi \u202e override' })).rejects.toThrow(
      /INVALID_MESSAGE: name: must be 1–128 printable characters/,
    );
    expect(await admin.call('POST', `/admin/v1/agents/${agent}/tokens`, { name: 'é'.repeat(128) })).toMatchObject({ status: 201 });
    expect(await admin.call('POST', `/admin/v1/agents/${agent}/tokens`, { name: '🔑'.repeat(128) })).toMatchObject({ status: 201 });
  }, 60_000);

  it('binds certificates by fingerprint, SPIFFE ID or CN, and OIDC subjects', async () => {
    const tenant = await admin.tenant();
    const agent = await admin.agent(tenant);
    const fp = 'AB:'.repeat(31) + 'AB';
    expect(await admin.call('POST', `/admin/v1/agents/${agent}/certificates`, { fingerprint_sha256: fp })).toEqual({
      status: 201,
      body: {
        id: expect.stringMatching(UUID),
        agent_id: agent,
        fingerprint_sha256: 'ab'.repeat(32),
        created_at: expect.stringMatching(ISO),
      },
    });
    expect(
      await admin.call('POST', `/admin/v1/agents/${agent}/certificates`, { spiffe_id: `spiffe://example.org/agent/${agent}` }),
    ).toMatchObject({ status: 201, body: { spiffe_id: `spiffe://example.org/agent/${agent}` } });
    const cn = await admin.call('POST', `/admin/v1/agents/${agent}/certificates`, { subject_cn: agent });
    expect(cn).toMatchObject({ status: 201, body: { subject_cn: agent } });
    expect(await admin.call('POST', `/admin/v1/agents/${agent}/certificates`, { subject_cn: agent })).toMatchObject({ status: 409 });
    expect(await admin.call('POST', `/admin/v1/agents/${agent}/certificates`, { spiffe_id: 'https://not-spiffe' })).toMatchObject({
      status: 400,
    });
    expect(
      await admin.call('POST', `/admin/v1/agents/${agent}/certificates`, { subject_cn: 'a', spiffe_id: 'spiffe://x/y' }),
    ).toMatchObject({ status: 400 });
    expect((await admin.call('GET', `/admin/v1/agents/${agent}/certificates`)).body.items).toHaveLength(3);
    expect(await admin.call('DELETE', `/admin/v1/certificates/${String(cn.body.id)}`)).toMatchObject({ status: 204 });
    expect((await admin.call('GET', `/admin/v1/agents/${agent}/certificates`)).body.items).toHaveLength(2);

    const subject = await admin.call('POST', `/admin/v1/agents/${agent}/oidc-subjects`, { subject: `svc-${agent}` });
    expect(subject).toEqual({
      status: 201,
      body: {
        id: expect.stringMatching(UUID),
        agent_id: agent,
        subject: `svc-${agent}`,
        issuer: null,
        created_at: expect.stringMatching(ISO),
      },
    });
    expect(await admin.call('POST', `/admin/v1/agents/${agent}/oidc-subjects`, { subject: `svc-${agent}` })).toMatchObject({ status: 409 });
    expect(
      await admin.call('POST', `/admin/v1/agents/${agent}/oidc-subjects`, { subject: `svc-${agent}`, issuer: 'https://other.example.com' }),
    ).toMatchObject({ status: 201 });
    expect((await admin.call('GET', `/admin/v1/agents/${agent}/oidc-subjects`)).body.items).toHaveLength(2);
    expect(await admin.call('DELETE', `/admin/v1/oidc-subjects/${String(subject.body.id)}`)).toMatchObject({ status: 204 });
    expect(await admin.call('DELETE', `/admin/v1/oidc-subjects/${String(subject.body.id)}`)).toMatchObject({ status: 404 });
  });
});
