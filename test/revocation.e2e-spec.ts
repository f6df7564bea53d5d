import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '#libs/client';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, http, waitFor, type TestAgent } from './support/agents.js';
import { TEST_DATABASE_URL, uniquePrefix } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';

// Two real gateway processes sharing Redis and Postgres: the admin API on node one, the agents on
// node two. Revocations must reach node two's live sessions within one second.
describe('revocation on every node', () => {
  let one: GatewayProcess;
  let two: GatewayProcess;
  let admin: AdminClient;
  let tenant: string;
  const open: TestAgent[] = [];

  beforeAll(async () => {
    const env = { REDIS_KEY_PREFIX: uniquePrefix(), CREDENTIAL_RECHECK_S: '1' };
    [one, two] = await Promise.all([startGateway(env), startGateway(env)]);
    admin = adminClient(one);
    tenant = await admin.tenant();
  });

  afterAll(async () => {
    for (const agent of open) agent.socket.close();
    await Promise.all([one?.stop(), two?.stop()]);
  });

  const connectOnTwo = async (): Promise<{ agentId: string; token: string; tokenId: string; agent: TestAgent }> => {
    const agentId = await admin.agent(tenant, { capabilities: ['plan', 'search'] });
    const { token, token_id } = await admin.token(agentId);
    const agent = await connectAgent(two.url, { agentId, token });
    open.push(agent);
    return { agentId, token, tokenId: token_id, agent };
  };

  /** Runs the admin call and measures until the agent on node two is told `revoked`. */
  const timeToRevoked = async (agent: TestAgent, revoke: () => Promise<{ status: number }>): Promise<number> => {
    const closed = new Promise<number>((resolve) => agent.socket.once('session_closed', () => resolve(Date.now())));
    const started = Date.now();
    expect([200, 204]).toContain((await revoke()).status);
    const at = await closed;
    await agent.disconnected;
    expect(agent.closed).toEqual([{ reason: 'revoked', message: expect.any(String), reconnect: false }]);
    return at - started;
  };

  it('revoking a token disconnects its session on the other node within 1 s', async () => {
    const { agentId, token, tokenId, agent } = await connectOnTwo();
    expect(await timeToRevoked(agent, () => admin.call('DELETE', `/admin/v1/tokens/${tokenId}`))).toBeLessThan(1_000);
    await expect(connectAgent(one.url, { agentId, token })).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
  });

  it('a revoked token is refused on the HTTP API of the other node within 1 s, although verified tokens are cached there', async () => {
    const agentId = await admin.agent(tenant);
    const { token, token_id } = await admin.token(agentId);
    const status = () => http('GET', `${two.url}/gateway/status`, { headers: { authorization: `Bearer ${token}` } });
    // Verified once, so node two holds the token's record in its cache.
    expect((await status()).status).toBe(200);
    expect((await status()).status).toBe(200);
    const started = Date.now();
    expect((await admin.call('DELETE', `/admin/v1/tokens/${token_id}`)).status).toBe(204);
    await waitFor(async () => (await status()).status === 401, 1_000, 'the revoked token refused on node two');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((await status()).body).toMatchObject({ error: { code: 'UNAUTHORIZED', reason: 'revoked' } });
  });

  it('disabling an agent disconnects it within 1 s, and its token no longer connects', async () => {
    const { agentId, token, agent } = await connectOnTwo();
    expect(await timeToRevoked(agent, () => admin.call('PATCH', `/admin/v1/agents/${agentId}`, { status: 'disabled' }))).toBeLessThan(
      1_000,
    );
    await expect(connectAgent(one.url, { agentId, token })).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED', message: 'agent is disabled' },
    });
  });

  it('deleting an agent disconnects it within 1 s', async () => {
    const { agentId, agent } = await connectOnTwo();
    expect(await timeToRevoked(agent, () => admin.call('DELETE', `/admin/v1/agents/${agentId}`))).toBeLessThan(1_000);
  });

  it('the SDK does not reconnect after `revoked`', async () => {
    const agentId = await admin.agent(tenant);
    const { token, token_id } = await admin.token(agentId);
    const client = new GatewayClient({ url: two.url, agentId, token, reconnect: { initialDelayMs: 20 } });
    const reasons: [string, boolean][] = [];
    let attempts = 0;
    client.on('disconnected', (reason, details) => reasons.push([reason, details.reconnect]));
    client.on('connecting', () => attempts++);
    await client.connect();
    await admin.call('DELETE', `/admin/v1/tokens/${token_id}`);
    await waitFor(() => client.state === 'closed', 2_000, 'the client to stop');
    // Time is the point: a reconnect would come within the first backoff (at most initialDelayMs, 20 ms).
    await new Promise((r) => setTimeout(r, 200));
    expect(reasons).toEqual([['revoked', false]]);
    expect(attempts).toBe(1);
    await client.close();
  });

  it('catches a revocation it was never told about by re-checking credentials (CREDENTIAL_RECHECK_S)', async () => {
    const { tokenId, agent } = await connectOnTwo();
    // Revoke behind the gateway's back: straight in Postgres, no identity event.
    const db = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    await db.query('UPDATE api_tokens SET revoked_at = now() WHERE token_id = $1', [tokenId]);
    await db.end();
    await agent.disconnected;
    expect(agent.closed).toEqual([{ reason: 'revoked', message: 'the credential of this session is no longer valid', reconnect: false }]);
  });

  it('applies a changed registration to live sessions: name and narrowed capabilities', async () => {
    const { agentId, agent } = await connectOnTwo();
    expect(agent.session.agent.capabilities).toEqual(['plan', 'search']);
    await admin.call('PATCH', `/admin/v1/agents/${agentId}`, { agent_name: 'Renamed', capabilities: ['plan'] });
    const card = async () =>
      (
        await http('GET', `${one.url}/gateway/agents/${agentId}`, {
          headers: { authorization: `Bearer ${(await admin.token(agentId)).token}` },
        })
      ).body;
    await waitFor(async () => (await card()).agent_name === 'Renamed', 2_000, 'the new card in the directory');
    expect(await card()).toMatchObject({ agent_name: 'Renamed', capabilities: ['plan'] });
    expect(agent.socket.connected).toBe(true);
    expect(await agent.call('update_card', { capabilities: ['search'] })).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });
});

describe('brute-force protection', () => {
  it('refuses further attempts from an address after AUTH_FAILURE_LIMIT failures, even with a valid token', async () => {
    const gateway = await startGateway({ AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_S: '60' });
    try {
      const admin = adminClient(gateway);
      const tenant = await admin.tenant();
      const agentId = await admin.agent(tenant);
      const { token } = await admin.token(agentId);
      for (let i = 0; i < 3; i++) {
        await expect(connectAgent(gateway.url, { agentId, token: `agt_${'x'.repeat(43)}` })).rejects.toMatchObject({
          data: { code: 'UNAUTHORIZED' },
        });
      }
      const blocked = await connectAgent(gateway.url, { agentId, token }).catch(
        (e: { data?: { code: string; retry_after_ms?: number } }) => e,
      );
      expect(blocked).toMatchObject({ data: { code: 'RATE_LIMIT' } });
      expect((blocked as { data: { retry_after_ms: number } }).data.retry_after_ms).toBeGreaterThan(50_000);
      const viaHttp = await http('GET', `${gateway.url}/gateway/status`, { headers: { authorization: `Bearer ${token}` } });
      expect(viaHttp.status).toBe(429);
      expect(Number(viaHttp.headers.get('retry-after'))).toBeGreaterThan(50);
    } finally {
      await gateway.stop();
    }
  });
});
