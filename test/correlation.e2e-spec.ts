import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, http, waitFor, type TestAgent } from './support/agents.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, uniqueId, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { openWs } from './support/ws-agent.js';

const text = (t: string) => [{ type: 'text', text: t }];

/** The gateway's `refused` log lines, parsed. */
function refusedLines(gateway: GatewayProcess): Record<string, unknown>[] {
  return gateway.output.flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as { message?: Record<string, unknown> };
      return parsed.message?.event === 'refused' ? [parsed.message] : [];
    } catch {
      return [];
    }
  });
}

// Correlation ids on every refusal (the same id to the client, on the log line and in the audit
// record) and machine-readable reasons beside UNAUTHORIZED.
describe('request ids and refusal reasons', () => {
  let gateway: GatewayProcess;
  let admin: AdminClient;
  let tenant: string;
  const db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  const open: TestAgent[] = [];

  beforeAll(async () => {
    gateway = await startGateway({ AUTH_METHODS: 'token' });
    admin = adminClient(gateway);
    tenant = await admin.tenant();
  });

  afterAll(async () => {
    for (const agent of open) agent.socket.close();
    await gateway?.stop();
    await db.end();
  });

  const agent = async (): Promise<{ id: string; token: string; tokenId: string }> => {
    const id = await admin.agent(tenant);
    const issued = await admin.token(id);
    return { id, token: issued.token, tokenId: issued.token_id };
  };

  it('a refused event: the ack, the log line and the audit record carry the same request_id', async () => {
    const a = await agent();
    const sender = await connectAgent(gateway.url, { agentId: a.id, token: a.token });
    open.push(sender);
    const ack = (await sender.call('send', { to_agent_id: 'no-such-agent', content: text('hello?') })) as {
      error: { code: string; request_id: string };
    };
    expect(ack.error).toMatchObject({ code: 'AGENT_NOT_FOUND', request_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const id = ack.error.request_id;
    await waitFor(() => refusedLines(gateway).some((l) => l.request_id === id), 3_000, 'the log line');
    expect(refusedLines(gateway).find((l) => l.request_id === id)).toMatchObject({
      code: 'AGENT_NOT_FOUND',
      where: 'send',
      agent_id: a.id,
      session_id: sender.session.session_id,
    });
    await waitFor(
      async () =>
        (await db.query("SELECT 1 FROM audit_records WHERE action = 'message.denied' AND details->>'request_id' = $1", [id])).rowCount ===
        1,
      10_000,
      'the audit record with the request id',
    );
  });

  it('HTTP: the error body and X-Request-Id agree, and a usable client X-Request-Id is kept', async () => {
    const generated = await http('GET', `${gateway.adminUrl}/admin/v1/agents/nobody-${uniqueId('x')}`, {
      headers: { authorization: 'Bearer wrong-admin-token-of-sufficient-length-xxxxxx' },
    });
    expect(generated.status).toBe(401);
    const body = generated.body.error as { request_id: string; reason: string };
    expect(body).toMatchObject({ code: 'UNAUTHORIZED', reason: 'invalid_admin_credential', request_id: expect.any(String) });
    expect(generated.headers.get('x-request-id')).toBe(body.request_id);
    const chosen = await http('GET', `${gateway.url}/gateway/agents`, { headers: { 'x-request-id': 'client-chosen-0001' } });
    expect(chosen.status).toBe(401);
    expect(chosen.headers.get('x-request-id')).toBe('client-chosen-0001');
    expect(chosen.body.error).toMatchObject({ request_id: 'client-chosen-0001', reason: 'no_credential' });
    // Not usable (too short, or characters outside the alphabet): a new one instead.
    const refused = await http('GET', `${gateway.url}/gateway/agents`, { headers: { 'x-request-id': 'x y' } });
    expect(refused.headers.get('x-request-id')).not.toBe('x y');
    expect(refusedLines(gateway).some((l) => l.request_id === 'client-chosen-0001' && String(l.where).startsWith('http GET'))).toBe(true);
  });

  it('UNAUTHORIZED says why in `reason`: unknown, malformed, revoked, expired, claimed id, no credential', async () => {
    const revoked = await agent();
    expect((await admin.call('DELETE', `/admin/v1/tokens/${revoked.tokenId}`)).status).toBe(204);
    const shortLived = await admin.agent(tenant);
    const expiring = await admin.token(shortLived, 1);
    const other = await agent();
    const refusal = async (auth: Record<string, unknown>) =>
      ((await connectAgent(gateway.url, { auth }).catch((error: { data: unknown }) => error)) as { data: Record<string, unknown> }).data;
    expect(await refusal({ agent_id: other.id })).toMatchObject({ code: 'UNAUTHORIZED', reason: 'no_credential' });
    expect(await refusal({ agent_id: other.id, token: `agt_${'A'.repeat(43)}` })).toMatchObject({ reason: 'unknown_token' });
    expect(await refusal({ agent_id: other.id, token: 'agt_short' })).toMatchObject({ reason: 'malformed_token' });
    expect(await refusal({ agent_id: revoked.id, token: revoked.token })).toMatchObject({ reason: 'revoked' });
    expect(await refusal({ agent_id: revoked.id, token: other.token })).toMatchObject({ reason: 'claimed_id_mismatch' });
    // Waiting out the one-second lifetime of the token: this sleep is about time, not ordering.
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await refusal({ agent_id: shortLived, token: expiring.token })).toMatchObject({ reason: 'expired' });
    // The plain WebSocket transport: the same reason in its error frame, then the terminal close.
    const ws = await openWs(gateway.url, { token: revoked.token, query: { agent_id: revoked.id } });
    expect(await ws.next('error')).toMatchObject({ code: 'UNAUTHORIZED', reason: 'revoked', request_id: expect.any(String) });
    expect((await ws.closed).code).toBe(4401);
    // The audit record of a refused connect keeps the reason too.
    await waitFor(
      async () =>
        (
          await db.query(
            "SELECT 1 FROM audit_records WHERE action = 'agent.connect_denied' AND subject = $1 AND details->>'error_reason' = 'revoked'",
            [revoked.id],
          )
        ).rowCount !== 0,
      10_000,
      'the connect_denied record with its reason',
    );
  });

  it('a flood of refusals does not flood the log: past 100 lines a second they are counted', async () => {
    const a = await agent();
    const flooder = await connectAgent(gateway.url, { agentId: a.id, token: a.token });
    open.push(flooder);
    const before = refusedLines(gateway).length;
    const acks = await Promise.all(Array.from({ length: 300 }, () => flooder.call('teleport', {})));
    expect(acks.every((ack) => (ack.error as { code?: string } | undefined)?.code === 'INVALID_MESSAGE')).toBe(true);
    await waitFor(() => gateway.output.some((line) => line.includes('"refusals_not_logged"')), 5_000, 'the count of unlogged refusals');
    expect(refusedLines(gateway).length - before).toBeLessThan(300);
  });
});

// An admin kicks a session through the session index: two reads whatever the number of agents
// (it used to scan the first 10 000 of the presence index, and missed the rest).
describe('kicking a session past 10 000 agents', () => {
  it('finds and closes the session although 10 050 others sort before it', async () => {
    const prefix = uniquePrefix();
    const gateway = await startGateway({ AUTH_METHODS: 'none', REDIS_KEY_PREFIX: prefix });
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const target = await connectAgent(gateway.url, { agentId: uniqueId('kickme') });
      // 10 050 members that expire before the target's entry, so they come first in the index.
      const soon = Date.now() + 30_000;
      const pipeline = redis.pipeline();
      for (let i = 0; i < 10_050; i++) pipeline.zadd(`${prefix}presence:all`, soon, `filler-${i}`);
      await pipeline.exec();
      const admin = adminClient(gateway);
      expect((await admin.call('DELETE', `/admin/v1/sessions/${target.session.session_id}`)).status).toBe(204);
      await target.disconnected;
      expect(target.closed).toEqual([expect.objectContaining({ reason: 'revoked' })]);
      expect((await admin.call('DELETE', `/admin/v1/sessions/${target.session.session_id}`)).status).toBe(404);
    } finally {
      await redis.quit();
      await gateway.stop();
    }
  });
});
