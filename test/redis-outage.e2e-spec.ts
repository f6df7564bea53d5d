import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from './support/admin.js';
import { connectAgent, waitFor, type TestAgent } from './support/agents.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { startTestRedis, type TestRedis } from './support/redis-server.js';

// A private redis-server, stopped and restarted under two real gateway processes: one with
// RATE_LIMIT_FAILURE_MODE=closed, one with open. Neither is restarted.
describe('Redis stopped mid-test', () => {
  let redis: TestRedis;
  let closed: GatewayProcess;
  let opened: GatewayProcess;
  const agents: Record<string, TestAgent> = {};

  beforeAll(async () => {
    redis = await startTestRedis();
    closed = await startGateway({ REDIS_URL: redis.url, RATE_LIMIT_FAILURE_MODE: 'closed' });
    opened = await startGateway({
      REDIS_URL: redis.url,
      RATE_LIMIT_FAILURE_MODE: 'open',
      RATE_LIMIT_DEFAULTS: '{"messages_per_second":0.1,"burst":5,"connects_per_minute_per_ip":1000}',
    });
    for (const [gateway, names] of [
      [closed, ['a', 'b']],
      [opened, ['c', 'd']],
    ] as const) {
      const admin = adminClient(gateway);
      const tenant = await admin.tenant();
      for (const name of names) {
        const id = await admin.agent(tenant);
        agents[name] = await connectAgent(gateway.url, { agentId: id, token: (await admin.token(id)).token });
      }
    }
  }, 60_000);

  afterAll(async () => {
    for (const agent of Object.values(agents)) agent.socket.close();
    await Promise.all([closed?.stop(), opened?.stop()]);
    await redis?.destroy();
  });

  const say = (from: string, to: string) =>
    agents[from]!.call('send', { to_agent_id: agents[to]!.session.agent.agent_id, content: [{ type: 'text', text: 'x' }] });

  it('closed refuses with UNAVAILABLE, open enforces per-node limits, and both resume when Redis returns', async () => {
    expect(await say('a', 'b')).toMatchObject({ status: 'delivered' });
    expect(await say('c', 'd')).toMatchObject({ status: 'delivered' });

    await redis.stop();
    await waitFor(
      async () => ((await say('a', 'b')) as { error?: { code: string } }).error?.code === 'UNAVAILABLE',
      5_000,
      'the closed gateway to refuse',
    );
    expect(await say('a', 'b')).toEqual({
      error: { code: 'UNAVAILABLE', message: 'rate limiting unavailable; retry later', request_id: expect.any(String) },
    });
    expect(await agents.a!.call('ping', {})).toEqual({ status: 'pong' });

    // Open: a bucket of 5 in this process; the sixth is refused.
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const ack = (await say('c', 'd')) as { status?: string; error?: { code: string } };
      outcomes.push(ack.status ?? ack.error?.code ?? '?');
    }
    expect(outcomes).toEqual(['delivered', 'delivered', 'delivered', 'delivered', 'delivered', 'RATE_LIMIT']);

    await redis.start();
    await waitFor(
      async () => ((await say('a', 'b')) as { status?: string }).status === 'delivered',
      10_000,
      'the closed gateway to resume',
    );
    await waitFor(
      async () => ((await say('c', 'd')) as { status?: string }).status === 'delivered',
      10_000,
      'the open gateway to use shared limits again',
    );
    expect(closed.child.exitCode).toBeNull();
    expect(opened.child.exitCode).toBeNull();
    expect(closed.output.join('\n')).toContain('RATE_LIMIT_FAILURE_MODE=closed');
    expect(opened.output.join('\n')).toContain('RATE LIMITS DEGRADED');
    expect(opened.output.join('\n')).toContain('shared rate limits restored');
  });
});
