import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { connectAgent, http, waitFor, type TestAgent } from './support/agents.js';
import { privateDatabaseUrl, uniqueId, uniquePrefix } from './support/env.js';
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

  describe('never prints a password in a start-up message', () => {
    const PASSWORD = 'pw-Zq81xK3nVb';
    const noPassword = (text: string): void => {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(encodeURIComponent(PASSWORD));
    };

    it('a malformed DATABASE_URL or REDIS_URL is shown with the password masked, and what is wrong is said', async () => {
      const { code, stderr, stdout } = await runGatewayToExit({
        DATABASE_URL: `postgresql://app:${PASSWORD}@127.0.0.1:99999/agent_gateway`,
        REDIS_URL: `redis://:${PASSWORD}@local host:6379`,
      });
      expect(code).toBe(1);
      expect(stderr).toContain('DATABASE_URL has port "99999", which is not a port number from 1 to 65535');
      expect(stderr).toContain('(got "postgresql://***@127.0.0.1:99999/agent_gateway")');
      expect(stderr).toContain('REDIS_URL is not a valid URL');
      noPassword(stderr + stdout);
    });

    it('Postgres unreachable', async () => {
      const { code, stderr, stdout } = await runGatewayToExit({ DATABASE_URL: `postgresql://app:${PASSWORD}@127.0.0.1:1/agent_gateway` });
      expect(code).toBe(1);
      expect(stderr).toMatch(/cannot reach Postgres at 127\.0\.0\.1:1/);
      noPassword(stderr + stdout);
    });

    it('Redis unreachable', async () => {
      const { code, stderr, stdout } = await runGatewayToExit({ REDIS_URL: `redis://agw:${PASSWORD}@127.0.0.1:1` });
      expect(code).toBe(1);
      expect(stderr).toMatch(/cannot reach Redis at 127\.0\.0\.1:1/);
      noPassword(stderr + stdout);
    });

    it('a migration that fails, with an error that quotes the password', async () => {
      // A database where creating a type fails with a message carrying the password (an event
      // trigger): the worst case of a driver error quoted in the start-up line.
      const url = privateDatabaseUrl(uniqueId('badmig').replace('-', '_'));
      const name = new URL(url).pathname.slice(1);
      const admin = new pg.Client({ connectionString: 'postgresql://postgres@localhost:5432/postgres' });
      await admin.connect();
      await admin.query(`CREATE DATABASE "${name}"`);
      await admin.end();
      const db = new pg.Client({ connectionString: `postgresql://postgres@localhost:5432/${name}` });
      await db.connect();
      await db.query(`CREATE FUNCTION refuse() RETURNS event_trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'refused for postgresql://postgres:${PASSWORD}@localhost/x'; END $$`);
      await db.query(`CREATE EVENT TRIGGER refuse_types ON ddl_command_start WHEN TAG IN ('CREATE TYPE') EXECUTE FUNCTION refuse()`);
      await db.end();
      // Trust authentication: the password is accepted and ignored, so the gateway reaches the migration.
      const { code, stderr, stdout } = await runGatewayToExit({ DATABASE_URL: url.replace('postgres@', `postgres:${PASSWORD}@`) });
      expect(code).toBe(1);
      expect(stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^agent-gateway: migration 0001_init failed: refused for postgresql:\/\/postgres:\*\*\*@localhost/),
      ]);
      noPassword(stderr + stdout);
    });
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
    // In flight: the receiver has the message and will ack it only 800 ms later.
    await waitFor(() => receiver.messages.length === 1, 2_000, 'the message at the receiver');
    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');
    await waitFor(() => gateway.output.some((line) => line.includes('"shutting down"')), 2_000, 'the drain to begin');

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
