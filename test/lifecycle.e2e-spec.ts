import { describe, expect, it } from 'vitest';
import { connectAgent, http, type TestAgent } from './support/agents.js';
import { uniqueId, uniquePrefix } from './support/env.js';
import { runGatewayToExit, startGateway } from './support/gateway-process.js';

const NO_STACK = /^\s+at /m;

// The compiled entry point, started and stopped as an operator would.
describe('start-up and shutdown', () => {
  it('exits non-zero with one clear line when Postgres is unreachable', async () => {
    const { code, stderr, stdout } = await runGatewayToExit({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/agent_gateway' });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^agent-gateway: cannot reach Postgres at 127\.0\.0\.1:1 \(ECONNREFUSED\).*start Postgres or set DATABASE_URL/),
    ]);
    expect(stderr + stdout).not.toMatch(NO_STACK);
  });

  it('exits non-zero with one clear line when Redis is unreachable', async () => {
    const { code, stderr, stdout } = await runGatewayToExit({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^agent-gateway: cannot reach Redis at 127\.0\.0\.1:1 \(ECONNREFUSED\).*start Redis or set REDIS_URL/),
    ]);
    expect(stderr + stdout).not.toMatch(NO_STACK);
  });

  it('refuses invalid configuration naming the variable', async () => {
    const { code, stderr } = await runGatewayToExit({ PORT: 'eighty', HEARTBEAT_TIMEOUT_S: '0', ADMIN_TOKEN: 'short-secret' });
    expect(code).toBe(1);
    expect(stderr).toContain('PORT must be an integer from 0 to 65535 (got "eighty")');
    expect(stderr).toContain('HEARTBEAT_TIMEOUT_S must be at least 2');
    expect(stderr).toContain('ADMIN_TOKEN must be at least 32 characters');
    expect(stderr).not.toContain('short-secret');
    expect(stderr).not.toMatch(NO_STACK);
  });

  it('refuses to start with `none` authentication when NODE_ENV=production', async () => {
    const { code, stderr } = await runGatewayToExit({ NODE_ENV: 'production', AUTH_METHODS: 'token,none' });
    expect(code).toBe(1);
    expect(stderr).toContain('AUTH_METHODS must not include "none" when NODE_ENV=production');
  });

  it('on SIGTERM: stops accepting, lets an in-flight delivery finish, tells agents server_shutdown, exits 0', async () => {
    const prefix = uniquePrefix();
    const gateway = await startGateway({ AUTH_METHODS: 'none', REDIS_KEY_PREFIX: prefix, SHUTDOWN_GRACE_MS: '3000' });
    const receiver = await connectAgent(gateway.url, {
      agentId: uniqueId('receiver'),
      onMessage: (_message, ack) => setTimeout(() => ack({ status: 'received' }), 800),
    });
    const sender: TestAgent = await connectAgent(gateway.url, { agentId: uniqueId('sender') });
    const inFlight = sender.call('send', { to_agent_id: receiver.session.agent.agent_id, content: [{ type: 'text', text: 'last words' }] });
    await new Promise((r) => setTimeout(r, 150));
    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));

    // Draining: not ready, and new agents are turned away with a reason to retry elsewhere.
    expect(await http('GET', `${gateway.url}/readyz`)).toMatchObject({ status: 503, body: { checks: { accepting: 'down' } } });
    await expect(connectAgent(gateway.url, { agentId: uniqueId('latecomer') })).rejects.toMatchObject({ data: { code: 'UNAVAILABLE' } });

    expect(await inFlight).toMatchObject({ status: 'delivered' });
    const { code } = await gateway.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    for (const agent of [receiver, sender]) {
      await agent.disconnected;
      expect(agent.closed).toEqual([{ reason: 'server_shutdown', message: expect.any(String), reconnect: true }]);
    }

    // Presence was released at once, not left to expire.
    const next = await startGateway({ AUTH_METHODS: 'none', REDIS_KEY_PREFIX: prefix });
    const { body } = await http('GET', `${next.url}/gateway/agents`, { headers: { 'x-agent-id': 'observer' } });
    expect(body.agents).toEqual([]);
    await next.stop();
  });
});
