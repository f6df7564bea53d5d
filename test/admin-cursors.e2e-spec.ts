import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, waitFor, type TestAgent } from './support/agents.js';
import { uniqueId } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

interface Operation {
  parameters?: { name: string; in: string }[];
}

/** What may show through when something internal leaks into an answer. */
const INTERNAL = /prisma|postgres|invalid input syntax|uuid|stack|node_modules|\bat [\w.<>]+ \(|internal error|ref [0-9a-f-]{36}/i;

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/** The parts of a cursor's JSON, to forge one of the same shape ([] when it is not a JSON array of strings). */
function jsonArrayOf(text: string): string[] {
  try {
    const parts: unknown = JSON.parse(text);
    return Array.isArray(parts) && parts.every((p) => typeof p === 'string') ? parts : [];
  } catch {
    return [];
  }
}

// The real gateway (compiled bootstrap, real Postgres and Redis). The routes under test are read
// from the served OpenAPI document, so a list added later is covered without touching this file.
describe('admin list cursors: one codec, only what it issued', () => {
  let gateway: GatewayProcess;
  let admin: AdminClient;
  let tenant: string;
  let agent: string;
  const agents: TestAgent[] = [];
  const lists: { path: string; query: string }[] = [];

  beforeAll(async () => {
    gateway = await startGateway({});
    admin = adminClient(gateway);
    // Two of everything each list holds, so that a page of one has a next page.
    tenant = await admin.tenant();
    await admin.tenant();
    agent = await admin.agent(tenant);
    const other = await admin.agent(tenant);
    const [first] = [await admin.token(agent), await admin.token(agent)];
    for (let i = 0; i < 2; i++) {
      expect((await admin.call('POST', `/admin/v1/agents/${agent}/certificates`, { subject_cn: uniqueId('cn') })).status).toBe(201);
      expect((await admin.call('POST', `/admin/v1/agents/${agent}/oidc-subjects`, { subject: uniqueId('sub') })).status).toBe(201);
    }
    agents.push(await connectAgent(gateway.url, { agentId: agent, token: first?.token ?? '' }));
    agents.push(await connectAgent(gateway.url, { agentId: other, token: (await admin.token(other)).token }));
    await waitFor(
      async () => ((await admin.call('GET', `/admin/v1/audit?tenant_id=${tenant}&limit=5`)).body.items as unknown[]).length >= 5,
      10_000,
      "the tenant's audit records",
    );

    const document = (await (await fetch(`${gateway.adminUrl}/admin/docs/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Operation>>;
    };
    for (const [path, operations] of Object.entries(document.paths)) {
      const query = (operations.get?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      if (!query.includes('cursor')) continue;
      const concrete = path.replace('{agentId}', agent);
      expect(concrete, `${path}: a path parameter this test does not fill`).not.toMatch(/[{}]/);
      lists.push({ path: concrete, query: `limit=1${query.includes('tenant_id') ? `&tenant_id=${tenant}` : ''}` });
    }
  }, 60_000);

  afterAll(async () => {
    for (const a of agents) a.socket.close();
    await gateway?.stop();
  });

  it('finds every list of the admin API in the OpenAPI document', () => {
    expect(lists.map((l) => l.path.replace(agent, '{agentId}')).sort()).toEqual(
      expect.arrayContaining([
        '/admin/v1/agents',
        '/admin/v1/agents/{agentId}/certificates',
        '/admin/v1/agents/{agentId}/oidc-subjects',
        '/admin/v1/agents/{agentId}/tokens',
        '/admin/v1/audit',
        '/admin/v1/audit/verify',
        '/admin/v1/sessions',
        '/admin/v1/tenants',
      ]),
    );
  });

  it('continues every list from the next_cursor it returned', async () => {
    for (const { path, query } of lists) {
      const first = await admin.call('GET', `${path}?${query}`);
      expect(first.status, `${path} → ${JSON.stringify(first.body)}`).toBe(200);
      const cursor = first.body.next_cursor;
      expect(cursor, `${path}: no next_cursor on a page of one`).toEqual(expect.any(String));
      const second = await admin.call('GET', `${path}?${query}&cursor=${encodeURIComponent(String(cursor))}`);
      expect(second.status, `${path} with its cursor → ${JSON.stringify(second.body)}`).toBe(200);
      expect(second.body, `${path}: the second page is the first again`).not.toEqual(first.body);
    }
  });

  it('answers any other cursor with 400 INVALID_MESSAGE naming the cursor, and nothing internal', async () => {
    // A real cursor of each list, to try on the others.
    const issued = new Map<string, string>();
    for (const { path, query } of lists) issued.set(path, String((await admin.call('GET', `${path}?${query}`)).body.next_cursor));
    for (const { path, query } of lists) {
      const own = issued.get(path) ?? '';
      const ownParts = jsonArrayOf(Buffer.from(own, 'base64url').toString('utf8'));
      const garbage = [
        'eHx5', // "x|y": reached Postgres as a uuid before
        '!!!',
        'x'.repeat(600),
        b64(randomUUID()), // a valid-looking key in the old format
        // This list's own shape with keys that do not validate.
        ...[() => 'x|y', () => "0' OR '1'='1", (part: string) => `${part}|x`].map((bad) =>
          b64(JSON.stringify(ownParts.map((part, i) => (i === 0 ? part : bad(part))))),
        ),
        ...[...issued].filter(([other]) => other !== path).map(([, cursor]) => cursor), // other lists' cursors
      ];
      for (const cursor of garbage) {
        const { status, body } = await admin.call('GET', `${path}?${query}&cursor=${encodeURIComponent(cursor)}`);
        const what = `${path} cursor=${cursor.slice(0, 40)} → ${status} ${JSON.stringify(body)}`;
        // Soft: one run names every list and cursor that is answered wrongly.
        expect.soft(status, what).toBe(400);
        expect
          .soft(body, what)
          .toEqual({ error: expect.objectContaining({ code: 'INVALID_MESSAGE', message: expect.stringMatching(/^cursor: /) }) });
        expect.soft(JSON.stringify(body), what).not.toMatch(INTERNAL);
      }
    }
  });
});
